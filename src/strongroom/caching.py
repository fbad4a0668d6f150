"""Single-flight, refresh-ahead caching: the one way every cache here loads an entry.

Why: under load, an entry that expires (or is dropped) while hundreds of requests
want it would otherwise be loaded by every one of them, and the extra database or
KMS work deepens the overload that caused the wait (issue #14). So:

* N concurrent misses of one key cause one load; the waiters share its result or
  its exception. A failed load is not cached: the next caller loads again.
* Refresh ahead: a hit on an entry older than ``refresh_ahead * ttl`` returns the
  cached value and starts one background reload, so hot entries never expire.
* An entry is never served once ``ttl`` has passed since its load *started*: what
  it holds was read no earlier than that, so documented staleness windows hold.
* ``forget`` / ``forget_group`` during a load: that load's result is not stored,
  and callers arriving after the forget do not receive it; they start a new load.
* A waiter being cancelled does not cancel the load the others wait on.
* Bounded size, least recently used out first.

``get(..., max_age=...)`` narrows the ttl for one call; ``fresh=True`` accepts only
a load that started after the call (and joins one that has not started yet, so a
burst of fresh callers still shares loads: at most one running and one queued).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import structlog

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

log = structlog.get_logger("strongroom.caching")
_MAX_MARKS = 100_000


class DropMarks:
    """Invalidation marks, shareable by caches whose entries are dropped together.

    A load takes ``token()`` when it starts; its result is stale when its group was
    marked after that (or when old marks were forgotten in bulk, which errs towards
    "stale": a reload, never a stale entry)."""

    def __init__(self) -> None:
        self._seq = 0
        self._floor = 0
        self._marks: dict[Hashable, int] = {}

    def token(self) -> int:
        return self._seq

    def stale(self, group: Hashable, token: int) -> bool:
        return token < self._floor or self._marks.get(group, -1) > token

    def mark(self, group: Hashable) -> None:
        self._seq += 1
        if len(self._marks) >= _MAX_MARKS:
            self._floor, self._marks = self._seq, {}
        self._marks[group] = self._seq


@dataclass
class _Entry(Generic[V]):
    value: V
    started: float  # when the load that produced it started


@dataclass
class _Flight(Generic[V]):
    future: asyncio.Future[V]
    started: float | None = None  # None: queued behind another load, not started yet
    token: int = 0
    task: asyncio.Task[None] | None = field(default=None, repr=False)


def _identity(key: Any) -> Hashable:
    return key  # type: ignore[no-any-return]


class SingleFlight(Generic[K, V]):
    def __init__(
        self,
        *,
        ttl: float,
        maxsize: int,
        refresh_ahead: float = 0.8,
        clock: Callable[[], float] = time.monotonic,
        marks: DropMarks | None = None,
        group: Callable[[K], Hashable] = _identity,
        keep: Callable[[V], bool] | None = None,
        name: str = "cache",
    ) -> None:
        """``ttl`` <= 0 or ``maxsize`` <= 0 store nothing (loads are still shared).
        ``group(key)`` names what ``forget_group`` drops together; ``keep(value)``
        says whether a loaded value may be stored (e.g. not a "not found")."""
        self.ttl = ttl if ttl > 0 else 0.0
        self.maxsize = max(maxsize, 0)
        self.refresh_ahead = refresh_ahead
        self.clock = clock
        self.marks = marks or DropMarks()
        self._group = group
        self._keep = keep
        self.name = name
        self._entries: OrderedDict[K, _Entry[V]] = OrderedDict()
        self._members: dict[Hashable, set[K]] = {}
        self._flights: dict[K, _Flight[V]] = {}
        self._background: set[asyncio.Task[Any]] = set()
        self.loads = 0  # loads started, for metrics and tests

    # reading ---------------------------------------------------------------
    def peek(self, key: K, *, max_age: float | None = None) -> V | None:
        """The stored value if it may be served now, without loading or refreshing."""
        entry = self._fresh_entry(key, self.clock(), max_age)
        if entry is None:
            return None
        self._entries.move_to_end(key)
        return entry.value

    async def get(
        self,
        key: K,
        load: Callable[[], Awaitable[V]],
        *,
        fresh: bool = False,
        max_age: float | None = None,
    ) -> V:
        now = self.clock()
        since = now if fresh else now - self._limit(max_age)
        entry = None if fresh else self._fresh_entry(key, now, max_age)
        if entry is not None:
            self._entries.move_to_end(key)
            if now - entry.started >= self.refresh_ahead * self.ttl:
                self._refresh(key, load)
            return entry.value
        flight = self._flights.get(key)
        if flight is None or not self._joinable(key, flight, since):
            flight = self._start(key, load, after=flight if fresh else None)
        # shield: a cancelled waiter must not cancel the load the others share.
        return await asyncio.shield(flight.future)

    async def run(self, key: K, load: Callable[[], Awaitable[V]]) -> V:
        """Join the load of ``key`` in flight, or start one; nothing is stored."""
        flight = self._flights.get(key)
        if flight is None or not self._joinable(key, flight, -math.inf):
            flight = self._start(key, load, store=False)
        return await asyncio.shield(flight.future)

    def busy(self, key: K) -> bool:
        """Is a load of ``key`` in flight (or queued)?"""
        return key in self._flights

    def put(self, key: K, value: V, token: int) -> None:
        """Store a value its caller loaded after taking ``marks.token()`` (refused if
        its group was dropped since); its age counts from now."""
        self._store(key, value, self.clock(), token)

    # invalidation -------------------------------------------------------------
    def forget(self, key: K) -> None:
        """Drop ``key``; a load of its group in flight now will not be stored."""
        self.marks.mark(self._group(key))
        self._remove(key)

    def forget_group(self, group: Hashable) -> None:
        self.marks.mark(group)
        self.drop_group_entries(group)

    def drop_group_entries(self, group: Hashable) -> None:
        """Remove a group's entries (its mark was set on the shared ``marks``)."""
        for key in list(self._members.get(group, ())):
            self._remove(key)

    def clear(self) -> None:
        self._entries.clear()
        self._members.clear()

    async def close(self) -> None:
        """Wait for background refreshes (their outcome is already logged)."""
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)

    def __len__(self) -> int:
        return len(self._entries)

    # internals ----------------------------------------------------------------
    def _limit(self, max_age: float | None) -> float:
        return self.ttl if max_age is None else min(self.ttl, max_age)

    def _fresh_entry(self, key: K, now: float, max_age: float | None) -> _Entry[V] | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        age = now - entry.started
        if age >= self.ttl:
            self._remove(key)  # never served past its ttl
            return None
        return entry if age < self._limit(max_age) else None

    def _joinable(self, key: K, flight: _Flight[V], since: float) -> bool:
        if flight.started is None:
            return True  # queued: it will start after this caller arrived
        return flight.started >= since and not self.marks.stale(self._group(key), flight.token)

    def _refresh(self, key: K, load: Callable[[], Awaitable[V]]) -> None:
        if key in self._flights:
            return  # one refresh at a time
        flight = self._start(key, load)
        # Nobody need await a refresh: its failure is logged and forgotten.
        flight.future.add_done_callback(self._log_failure)

    def _start(
        self,
        key: K,
        load: Callable[[], Awaitable[V]],
        *,
        after: _Flight[V] | None = None,
        store: bool = True,
    ) -> _Flight[V]:
        loop = asyncio.get_running_loop()
        flight: _Flight[V] = _Flight(loop.create_future())
        flight.future.add_done_callback(_retrieve)  # every waiter may have gone
        self._flights[key] = flight

        async def body() -> None:
            if after is not None:
                # Queue behind the running load rather than run beside it.
                await asyncio.wait([after.future])
            started = flight.started = self.clock()
            flight.token = self.marks.token()
            self.loads += 1
            try:
                value = await load()
            except BaseException as exc:
                if not flight.future.done():
                    if isinstance(exc, asyncio.CancelledError):
                        flight.future.cancel()
                    else:
                        flight.future.set_exception(exc)
                if not isinstance(exc, Exception):
                    raise
                return
            finally:
                if self._flights.get(key) is flight:
                    del self._flights[key]
            if store:
                self._store(key, value, started, flight.token)
            flight.future.set_result(value)

        flight.task = loop.create_task(body())
        self._background.add(flight.task)
        flight.task.add_done_callback(self._background.discard)
        return flight

    def _log_failure(self, future: asyncio.Future[Any]) -> None:
        exc = None if future.cancelled() else future.exception()
        if exc is not None:  # type only: a message could carry a secret
            log.warning("cache_refresh_failed", cache=self.name, error_type=type(exc).__name__)

    def _store(self, key: K, value: V, started: float, token: int) -> None:
        group = self._group(key)
        if self.ttl <= 0 or self.maxsize <= 0 or self.marks.stale(group, token):
            return
        if self._keep is not None and not self._keep(value):
            self._remove(key)
            return
        current = self._entries.get(key)
        if current is not None and current.started > started:
            return  # a newer load already stored its value
        self._entries[key] = _Entry(value, started)
        self._entries.move_to_end(key)
        self._members.setdefault(group, set()).add(key)
        while len(self._entries) > self.maxsize:
            old, _ = self._entries.popitem(last=False)
            self._unindex(old)

    def _remove(self, key: K) -> None:
        if self._entries.pop(key, None) is not None:
            self._unindex(key)

    def _unindex(self, key: K) -> None:
        group = self._group(key)
        members = self._members.get(group)
        if members is not None:
            members.discard(key)
            if not members:
                del self._members[group]


def _retrieve(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()
