"""The "last used" time and address of access keys, without a database write per request.

Each replica keeps the latest use of every key in memory and writes them in one
batch ``interval`` seconds after the first unwritten use: at most one UPDATE per key
per flush, none on the request path. A row only moves forward in time, so replicas
flushing in any order keep the newest use. Uses not yet flushed when a process dies
are lost; that is the price of no write per request (the audit trail still has
every authentication failure, and key operations carry their own records).
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime

import structlog

from strongroom.store import access_repo
from strongroom.store.db import Database
from strongroom.store.tenancy import system_context, system_scope

log = structlog.get_logger("strongroom.access")

Use = tuple[datetime, str | None]


class UsageBuffer:
    def __init__(self, db: Database, interval: float) -> None:
        self._db, self._interval = db, interval
        self._pending: dict[str, Use] = {}
        self._task: asyncio.Task[None] | None = None

    def record(self, key_id: str, addr: str | None) -> None:
        self._pending[key_id] = (datetime.now(UTC), addr[:64] if addr else None)
        if self._task is None or self._task.done():
            # Flushes every tenant's keys: not scoped to the request that started it.
            self._task = asyncio.create_task(self._flush_later(), context=system_context())

    def pending(self, key_id: str) -> Use | None:
        """This replica's newest unwritten use of ``key_id`` (shown before it is flushed)."""
        return self._pending.get(key_id)

    async def _flush_later(self) -> None:
        await asyncio.sleep(self._interval)
        await self.flush()

    async def flush(self) -> int:
        """Write every buffered use; returns the number of keys written."""
        batch, self._pending = self._pending, {}
        if not batch:
            return 0
        uses = [(k, at, addr) for k, (at, addr) in batch.items()]
        try:
            # System work: the buffer holds uses of every tenant's keys, and the task
            # flushing it may have been started by a request of one tenant.
            with system_scope():
                async with self._db.core_transaction() as conn:
                    await access_repo.record_uses(conn, uses)
        except Exception as exc:
            # Bookkeeping only: keep the uses for the next flush, never fail a request.
            log.warning("access_key_usage_flush_failed", error_type=type(exc).__name__)
            for key_id, use in batch.items():
                self._pending.setdefault(key_id, use)
            return 0
        return len(batch)

    async def close(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.flush()
