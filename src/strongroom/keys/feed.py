"""Cross-replica cache invalidation with bounded staleness.

Every rotation, deletion, destruction and policy change bumps the key row's
``generation`` and ``updated_at`` in its own transaction. Each replica polls for
rows changed within the last ``window`` seconds (one range query per interval,
whatever the number of users) and drops every user whose generation it has not
seen yet. Correctness rests on the poll, never on a message: when polls fail for
longer than ``max_staleness``, ``trusted()`` turns false and metadata is read fresh
on every request until a poll succeeds again. A change is therefore acted on
everywhere within ``interval + max_staleness`` (defaults 0.5 + 1.5 s).

``window`` must exceed the longest key transaction plus clock skew between
replicas (``updated_at`` comes from the writer's clock); it only costs rows re-read.

The poll must not be starved by request traffic (a late poll makes every request
read metadata, which deepens the overload that delayed it). So ``run`` polls from a
thread of its own, with its own event loop and its own database connection
(``Database.dedicated``): a saturated request loop or a drained request pool cannot
delay the read. Each result is handed to the request loop
(``call_soon_threadsafe``), where the drops are applied before ``trusted()`` counts
the poll: every cache mutation stays on the request loop. An in-memory SQLite
database (tests) cannot be shared with another engine: there it polls in-loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

import structlog

from strongroom.keys.cache import KeyCaches, UserRef
from strongroom.store import keys_repo
from strongroom.store.db import Database
from strongroom.store.tenancy import enter_system_scope

log = structlog.get_logger("strongroom.keys.feed")
Rows = Sequence[tuple[str, str, int]]
_JOIN_SECONDS = 10.0  # shutdown waits this long for a read in flight to give up
_DISPOSE_SECONDS = 2.0


class ChangeFeed:
    def __init__(
        self,
        db: Database,
        caches: KeyCaches,
        *,
        interval: float = 0.5,
        window: float = 10.0,
        max_staleness: float = 1.5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._db = db
        self._caches = caches
        self.interval = interval
        self.window = window
        self.max_staleness = max_staleness
        self._clock = clock
        self._last_ok: float | None = None
        self._seen: dict[UserRef, int] = {}
        self._failing = False
        self.polls = 0  # polls applied on the request loop (tests, metrics)
        self.reads = 0  # reads completed by the polling thread
        self.thread: threading.Thread | None = None

    @property
    def staleness_bound(self) -> float:
        return self.interval + self.max_staleness

    def trusted(self) -> bool:
        """May cached metadata be used now? Only while polls keep succeeding."""
        return self._last_ok is not None and self._clock() - self._last_ok <= self.max_staleness

    def seen_generation(self, ref: UserRef) -> int | None:
        """The newest generation the last poll saw for ``ref``, if it changed lately."""
        return self._seen.get(ref)

    def hint(self, ref: UserRef) -> None:
        """A message said ``ref`` changed: drop it now rather than at the next poll."""
        self._caches.drop_user(ref)

    async def poll_once(self) -> int:
        """One poll on the shared pool, in this loop; returns how many users were dropped."""
        started = self._clock()
        return self._apply(await self._read(self._db), started)

    async def _read(self, db: Database) -> Rows:
        since = datetime.now(UTC) - timedelta(seconds=self.window)
        async with db.read() as s:
            return await keys_repo.changed_since(s, since)

    def _apply(self, rows: Rows, started: float) -> int:
        """On the request loop: drop what changed, then count the poll as successful."""
        seen: dict[UserRef, int] = {}
        dropped = 0
        for tenant, user_id, generation in rows:
            ref = (tenant, user_id)
            seen[ref] = generation
            if self._seen.get(ref) != generation:
                self._caches.drop_user(ref)
                dropped += 1
        self._seen = seen  # rows that left the window can no longer change unseen
        self._last_ok = started if self._last_ok is None else max(self._last_ok, started)
        self.polls += 1
        return dropped

    async def run(self) -> None:
        """Poll until cancelled: from a thread of its own (joined on the way out)."""
        if self._db.is_memory:
            await self._run_here()
            return
        poller = _PollThread(self, asyncio.get_running_loop())
        self.thread = poller.thread
        poller.thread.start()
        try:
            await asyncio.Event().wait()  # until cancelled
        finally:
            await asyncio.to_thread(poller.stop)

    async def _run_here(self) -> None:
        while True:
            try:
                await self.poll_once()
                self._outcome(None)
            except Exception as exc:  # keep polling; trusted() expires meanwhile
                self._outcome(exc)
            await asyncio.sleep(self.interval)

    async def _run_in_thread(self, main: asyncio.AbstractEventLoop) -> None:
        enter_system_scope()  # this thread's context: the feed reads every tenant
        db = self._db.dedicated()
        try:
            while True:
                started = self._clock()
                try:
                    rows = await self._read(db)
                except Exception as exc:  # keep polling; trusted() expires meanwhile
                    self._outcome(exc)
                else:
                    self.reads += 1
                    self._outcome(None)
                    main.call_soon_threadsafe(self._apply, rows, started)
                await asyncio.sleep(self.interval)
        finally:
            # A connection left mid-read by the cancellation may not close politely:
            # shutdown must not wait on it (the thread's loop closes it regardless).
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(db.dispose(), _DISPOSE_SECONDS)

    def _outcome(self, exc: Exception | None) -> None:
        if exc is None:
            if self._failing:
                log.info("key_feed_recovered")
            self._failing = False
            return
        if not self._failing:
            log.warning("key_feed_failing", error_type=type(exc).__name__)
        self._failing = True


class _PollThread:
    """The feed's own thread and event loop; ``stop`` cancels its task and joins it."""

    def __init__(self, feed: ChangeFeed, main: asyncio.AbstractEventLoop) -> None:
        self._feed, self._main = feed, main
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self.thread = threading.Thread(target=self._body, name="strongroom-key-feed", daemon=True)

    def _body(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._task = loop.create_task(self._feed._run_in_thread(self._main))
        self._ready.set()
        try:
            loop.run_until_complete(self._task)
        except asyncio.CancelledError:
            pass
        except Exception as exc:  # the main loop closed under it: nothing to hand to
            log.warning("key_feed_thread_ended", error_type=type(exc).__name__)
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    def stop(self) -> None:
        if not self._ready.wait(_JOIN_SECONDS) or self._loop is None or self._task is None:
            return  # it never started its loop
        with contextlib.suppress(RuntimeError):  # its loop already closed
            self._loop.call_soon_threadsafe(self._task.cancel)
        self.thread.join(_JOIN_SECONDS)
