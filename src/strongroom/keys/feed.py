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
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import structlog

from strongroom.keys.cache import KeyCaches, UserRef
from strongroom.store import keys_repo
from strongroom.store.db import Database

log = structlog.get_logger("strongroom.keys.feed")


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
        """One poll; returns how many users were dropped."""
        started = self._clock()
        since = datetime.now(UTC) - timedelta(seconds=self.window)
        async with self._db.read() as s:
            rows = await keys_repo.changed_since(s, since)
        seen: dict[UserRef, int] = {}
        dropped = 0
        for tenant, user_id, generation in rows:
            ref = (tenant, user_id)
            seen[ref] = generation
            if self._seen.get(ref) != generation:
                self._caches.drop_user(ref)
                dropped += 1
        self._seen = seen  # rows that left the window can no longer change unseen
        self._last_ok = started
        return dropped

    async def run(self) -> None:
        while True:
            try:
                await self.poll_once()
                if self._failing:
                    log.info("key_feed_recovered")
                self._failing = False
            except Exception as exc:  # keep polling; trusted() expires meanwhile
                if not self._failing:
                    log.warning("key_feed_failing", error_type=type(exc).__name__)
                self._failing = True
            await asyncio.sleep(self.interval)
