"""Usage of stored API keys, counted without a database write per use.

``UsageRecorder.record(use)`` (the broker's and the reveal path's ``UsageSink``) only
adds to dictionaries in memory: counts per (tenant, key, hour, kind, caller, upstream
host, status class), and per (tenant, key, source address) the first and last time
seen and the last caller (the newest is the key's "last used"). A background task
writes them every ``flush_interval_seconds``, or as soon as ``flush_max_uses`` uses
are buffered: one transaction of TWO statements (multi-row upserts that add, so
replicas flushing at once add up), whatever the number of uses. Under load that is
at most 2 writes per ``flush_max_uses`` uses (10,000 by default); the closing flush
at shutdown writes what is left.

Trade-offs: uses buffered when a process dies are lost (counts are analytics, the
audit trail of reveals and the broker's own records are not buffered here); a flush
that fails keeps its batch for the next one; a commit whose outcome is unknown (the
connection dropped during COMMIT) may count its batch twice on retry. At most
``MAX_SOURCES`` distinct (key, address) pairs are buffered between flushes: a
flood from more addresses is still counted, only the extra addresses go unrecorded.
Day totals are sums of hours (credentials/usage_query.py).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog

from strongroom.config.usage import UsageSettings
from strongroom.credentials.contract import Use, UseKind
from strongroom.observability.metrics import API_KEY_USAGE_FLUSHES, API_KEY_USES
from strongroom.store import usage_repo
from strongroom.store.db import Database
from strongroom.store.tenancy import system_context, system_scope

log = structlog.get_logger("strongroom.credentials")

MAX_BUCKETS = 100_000  # distinct count rows buffered before an early flush
MAX_SOURCES = 20_000  # distinct (key, address) pairs buffered between flushes

Bucket = tuple[str, int, datetime, str, str, str, str]
"""(tenant, key id, hour, kind, caller, host, status class)."""
SourceKey = tuple[str, int, str]  # (tenant, key id, address or "")


@dataclass
class Seen:
    first: datetime
    last: datetime
    caller: str


def status_class(use: Use) -> str:
    """``denied`` (refused before it left), ``none`` (no answer: timeout, connection
    refused; a reveal has none either), else ``2xx`` ... ``5xx``."""
    if use.kind is UseKind.DENIED:
        return "denied"
    if use.status is None:
        return "none"
    return f"{use.status // 100}xx" if 100 <= use.status <= 599 else "other"


def hour_of(at: datetime) -> datetime:
    if at.tzinfo is not UTC:
        at = at.astimezone(UTC) if at.tzinfo is not None else at.replace(tzinfo=UTC)
    return at.replace(minute=0, second=0, microsecond=0)


class NullUsage:
    """A ``UsageSink`` that counts nothing (a stored-key core built without analytics)."""

    def record(self, use: Use) -> None:
        return None


class UsageRecorder:
    """The ``UsageSink`` of the broker and the reveal path (credentials/contract.py)."""

    def __init__(
        self,
        db: Database,
        settings: UsageSettings,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._db, self.settings, self._clock = db, settings, clock
        self._counts: dict[Bucket, int] = {}
        self._sources: dict[SourceKey, Seen] = {}
        # (tenant, key) -> buffered callers and addresses: the anomaly rules ask per use.
        self._index: dict[tuple[str, int], tuple[set[str], set[str]]] = {}
        self._uses = 0  # buffered uses
        self._lock = asyncio.Lock()  # one flush (or exact read) at a time
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        # Called with every use, before it is counted, synchronously: must be cheap
        # (credentials/anomaly.py).
        self.observers: list[Callable[[Use], None]] = []
        self.flushes = 0  # flushes that wrote something (tests, bench)
        self._metric: dict[tuple[UseKind, str], Any] = {}

    # --- the per-call path: memory only ------------------------------------------------
    def record(self, use: Use) -> None:
        # Observers first: they see what was buffered before this use (a new caller).
        for observe in self.observers:
            observe(use)
        cls = status_class(use)
        caller = use.caller[:200]
        bucket = (
            use.tenant,
            use.key_id,
            hour_of(use.at),
            str(use.kind),
            caller,
            (use.host or "")[:255].lower(),
            cls,
        )
        self._counts[bucket] = self._counts.get(bucket, 0) + 1
        index = self._index.get((use.tenant, use.key_id))
        if index is None:
            index = self._index[(use.tenant, use.key_id)] = (set(), set())
        index[0].add(caller)
        if use.source:
            index[1].add(use.source[:64])
        where = (use.tenant, use.key_id, (use.source or "")[:64])
        seen = self._sources.get(where)
        if seen is None:
            if len(self._sources) < MAX_SOURCES:
                self._sources[where] = Seen(use.at, use.at, caller)
        elif use.at >= seen.last:
            seen.last, seen.caller = use.at, caller
        elif use.at < seen.first:
            seen.first = use.at
        self._uses += 1
        counter = self._metric.get((use.kind, cls))
        if counter is None:  # labels() costs more than the rest of record() together
            counter = self._metric[(use.kind, cls)] = API_KEY_USES.labels(str(use.kind), cls)
        counter.inc()
        self._schedule()

    def _schedule(self) -> None:
        if self._closed:
            return
        if self._task is None or self._task.done():
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # no loop (a synchronous caller): flushed on close
                return
            self._wake = asyncio.Event()
            # Flushes every tenant's uses: not scoped to the request that started it.
            self._task = loop.create_task(self._run(), context=system_context())
        if self._wake is not None and (
            self._uses >= self.settings.flush_max_uses or len(self._counts) >= MAX_BUCKETS
        ):
            self._wake.set()

    async def _run(self) -> None:
        assert self._wake is not None
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.settings.flush_interval_seconds)
            self._wake.clear()
            await self.flush()

    # --- writing ----------------------------------------------------------------------
    async def flush(self) -> int:
        """Write every buffered use in one transaction of two statements; returns the
        number of uses written (0: nothing buffered, or the write failed and the batch
        waits for the next flush)."""
        async with self._lock:
            return await self._flush()

    async def _flush(self) -> int:
        counts, self._counts = self._counts, {}
        seen, self._sources = self._sources, {}
        index, self._index = self._index, {}
        uses, self._uses = self._uses, 0
        if not counts and not seen:
            return 0
        try:
            # System work: the buffer holds uses of every tenant's keys.
            with system_scope():
                async with self._db.transaction() as s:
                    await usage_repo.add_hours(s, [_hour_row(b, n) for b, n in counts.items()])
                    await usage_repo.touch_sources(s, [_source_row(k, v) for k, v in seen.items()])
        except asyncio.CancelledError:  # shutdown mid-write: close() flushes it again
            self._merge_back(counts, seen, index, uses)
            raise
        except Exception as exc:
            # Bookkeeping only: keep the batch for the next flush, never fail a call.
            log.warning("api_key_usage_flush_failed", error_type=type(exc).__name__)
            API_KEY_USAGE_FLUSHES.labels("failure").inc()
            self._merge_back(counts, seen, index, uses)
            return 0
        API_KEY_USAGE_FLUSHES.labels("success").inc()
        self.flushes += 1
        return uses

    def _merge_back(
        self,
        counts: dict[Bucket, int],
        seen: dict[SourceKey, Seen],
        index: dict[tuple[str, int], tuple[set[str], set[str]]],
        uses: int,
    ) -> None:
        for key, (callers, sources) in index.items():
            mine = self._index.setdefault(key, (set(), set()))
            mine[0].update(callers)
            mine[1].update(sources)
        for bucket, n in counts.items():
            self._counts[bucket] = self._counts.get(bucket, 0) + n
        for where, old in seen.items():
            new = self._sources.get(where)
            if new is None:
                self._sources[where] = old
            else:
                new.first = min(new.first, old.first)
                if old.last > new.last:
                    new.last, new.caller = old.last, old.caller
        self._uses += uses

    # --- what reads see before a flush -----------------------------------------------------
    def exact(self) -> asyncio.Lock:
        """Held around a read that adds ``pending_*`` to the database's rows: no flush
        moves counts from memory to the database in between (so none counts twice)."""
        return self._lock

    def pending_counts(self, tenant: str, key_id: int) -> list[tuple[Bucket, int]]:
        return [(b, n) for b, n in self._counts.items() if b[0] == tenant and b[1] == key_id]

    def pending_sources(self, tenant: str, key_id: int) -> list[tuple[str, Seen]]:
        return [(k[2], v) for k, v in self._sources.items() if k[0] == tenant and k[1] == key_id]

    def pending_caller(self, tenant: str, key_id: int, caller: str | None) -> bool:
        """Whether ``caller`` (None: anyone) has a buffered use of the key."""
        index = self._index.get((tenant, key_id))
        return index is not None and (caller is None or caller[:200] in index[0])

    def pending_source(self, tenant: str, key_id: int, source: str | None) -> bool:
        """Whether a buffered use of the key came from ``source`` (None: any address)."""
        index = self._index.get((tenant, key_id))
        if index is None:
            return False
        return bool(index[1]) if source is None else source[:64] in index[1]

    # --- retention and shutdown ---------------------------------------------------------
    async def purge(self, now: datetime) -> int:
        """The job ``usage.purge``: delete rows past ``retention_days``."""
        before = now - timedelta(days=self.settings.retention_days)
        with system_scope():
            async with self._db.transaction() as s:
                return await usage_repo.purge(s, before)

    async def close(self) -> None:
        """Stop the flusher and write what is left."""
        self._closed = True
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.flush()


def _hour_row(b: Bucket, n: int) -> dict[str, Any]:
    tenant, key_id, hour, kind, caller, host, cls = b
    return {
        "tenant_id": tenant,
        "key_id": key_id,
        "hour": hour,
        "kind": kind,
        "caller": caller,
        "host": host,
        "status_class": cls,
        "count": n,
    }


def _source_row(k: SourceKey, v: Seen) -> dict[str, Any]:
    return {
        "tenant_id": k[0],
        "key_id": k[1],
        "source": k[2],
        "first_at": v.first,
        "last_at": v.last,
        "last_caller": v.caller,
    }
