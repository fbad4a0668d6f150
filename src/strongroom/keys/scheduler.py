"""Background loop run by ``serve``: scheduled rotation and due destructions."""

from __future__ import annotations

import asyncio

import structlog

from strongroom.keys.lifecycle import LifecycleService

log = structlog.get_logger("strongroom.scheduler")


async def run_once(lifecycle: LifecycleService) -> tuple[int, int]:
    return await lifecycle.rotate_due(), await lifecycle.destroy_due()


async def run_scheduler(lifecycle: LifecycleService, interval: float) -> None:
    while True:
        try:
            rotated, destroyed = await run_once(lifecycle)
            if rotated or destroyed:
                log.info("scheduler_pass", rotated=rotated, destroyed=destroyed)
        except Exception as exc:  # keep the loop alive; next pass retries
            log.error("scheduler_failed", error_type=type(exc).__name__)
        await asyncio.sleep(interval)
