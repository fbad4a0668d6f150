"""The share purge job: ends expired shares (wiping their values) and deletes the rows
of shares ended ``keep_ended_days`` ago. Registered with the cluster-wide job runner
(services/container.py ``build_jobs``: once per period across replicas); each pass is
also safe to repeat or to run on several replicas at once (its statements are
conditional, so a share is ended and recorded once)."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import structlog

from strongroom.secrets.shares import ShareService

log = structlog.get_logger("strongroom.shares")


async def run_once(shares: ShareService, now: datetime | None = None) -> tuple[int, int]:
    """(shares ended, rows deleted) in one pass."""
    return await shares.end_due(now or datetime.now(UTC), f"job-{os.urandom(8).hex()}")


def purge_job(shares: ShareService) -> Callable[[datetime], Awaitable[int]]:
    """``run_once`` as the job runner calls it: ``now`` in, how much it did out."""

    async def run(now: datetime) -> int:
        ended, deleted = await run_once(shares, now)
        if ended or deleted:
            log.info("share_purge_pass", ended=ended, deleted=deleted)
        return ended + deleted

    return run
