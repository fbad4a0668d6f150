"""Group commit of the audit log's waiting records (audit/service.py ``append``).

Records wait in one queue per process; one flusher task at a time takes them out in
groups of at most ``max_batch`` and hands each group to the log's write function,
which seals and writes it and then, through ``settle``, resolves every record's
future once the group is durable, or fails them all.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from strongroom.audit.models import AuditEvent
from strongroom.store.tenancy import system_context

# Event-loop passes a group may wait for records of requests in flight, and the
# quiet passes that end the wait (``GroupQueue._gather``). bench/audit_overhead.py
# (two processes, 16/64 connections each): ~10/~20 records per commit without it,
# ~16/~50 with it; PostgreSQL CPU per record ~65/~40 us -> ~55/~25 us.
_GATHER_PASSES, _QUIET_PASSES = 32, 3

# (unsealed row, future or None for fire-and-forget, event for the observer)
Pending = tuple[dict[str, Any], "asyncio.Future[None] | None", AuditEvent | None]
# Writes one group; False if it failed (its futures already settled with the error).
GroupWrite = Callable[[Sequence[Pending]], Awaitable[bool]]


class GroupQueue:
    """The waiting records and the task that sends them in groups."""

    def __init__(
        self, write: GroupWrite, interval_s: float, max_batch: int, backlog: Callable[[], bool]
    ) -> None:
        self._write, self._interval = write, interval_s
        self.max_batch = max_batch
        self._backlog = backlog  # other work (void records) that needs a write
        self._pending: list[Pending] = []
        self._flusher: asyncio.Task[None] | None = None

    def put(self, row: dict[str, Any], event: AuditEvent | None) -> asyncio.Future[None]:
        """Queue a record; the future resolves once it is durable."""
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((row, fut, event))
        self.kick()
        return fut

    def kick(self) -> None:
        if self._flusher is None or self._flusher.done():
            with contextlib.suppress(RuntimeError):  # no running loop: next flush takes it
                # System work: a request's tenant scope must not follow it (RLS).
                self._flusher = asyncio.get_running_loop().create_task(
                    self._flush_soon(), context=system_context()
                )

    async def drain(self) -> None:
        if self._flusher is not None:
            await asyncio.gather(self._flusher, return_exceptions=True)

    async def _flush_soon(self) -> None:
        # Waiting a moment lets concurrent requests share one commit.
        if self._interval:
            await asyncio.sleep(self._interval)
        while self._pending or self._backlog():
            await self._gather()
            batch = self._pending[: self.max_batch]
            self._pending = self._pending[self.max_batch :]
            if not await self._write(batch) and not self._pending:
                break  # the backlog is retried with the next write

    async def _gather(self) -> None:
        """Let the records of requests in flight join the group before it goes out:
        wait pass after pass of the event loop while records keep arriving, until
        ``_QUIET_PASSES`` passes in a row add none (an idle process: at once, in
        effect), the group is full, or ``_GATHER_PASSES`` passes went by. A busy
        process so writes big groups, which cost PostgreSQL and this process less
        per record, while a request's wait stays bounded."""
        n, quiet = len(self._pending), 0
        for _ in range(_GATHER_PASSES):
            await asyncio.sleep(0)
            if len(self._pending) >= self.max_batch:
                return
            quiet = quiet + 1 if len(self._pending) == n else 0
            if quiet >= _QUIET_PASSES:
                return
            n = len(self._pending)


def settle(batch: Sequence[Pending], exc: Exception | None) -> None:
    """Resolve the group's futures: durable (``exc`` None) or failed with ``exc``."""
    for _, fut, _ in batch:
        if fut is None or fut.done():
            continue
        if exc is None:
            fut.set_result(None)
        else:
            fut.set_exception(exc)
