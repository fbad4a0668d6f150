"""The share purge job: ends expired shares (wiping their values) and deletes the rows
of shares ended ``keep_ended_days`` ago. Started beside the key scheduler in the
server's lifespan (api/app.py); ``run_once`` is safe on several replicas at once
(each statement is conditional, so a share is ended and recorded once)."""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime

import structlog

from strongroom.secrets.shares import ShareService

log = structlog.get_logger("strongroom.shares")


async def run_once(shares: ShareService, now: datetime | None = None) -> tuple[int, int]:
    """(shares ended, rows deleted) in one pass."""
    return await shares.end_due(now or datetime.now(UTC), f"job-{os.urandom(8).hex()}")


async def run_purger(shares: ShareService, interval: float) -> None:
    while True:
        try:
            ended, deleted = await run_once(shares)
            if ended or deleted:
                log.info("share_purge_pass", ended=ended, deleted=deleted)
        except Exception as exc:  # keep the loop alive; the next pass retries
            log.error("share_purge_failed", error_type=type(exc).__name__)
        await asyncio.sleep(interval)
