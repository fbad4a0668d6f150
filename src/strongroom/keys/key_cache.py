"""The one face of key caching that the key services see.

Behind it: this process's caches (keys/cache.py), the change feed that says whether
cached metadata may be trusted now (keys/feed.py), the optional hints that tell
other replicas of a change at once (keys/hints.py) and the optional Redis second
level for metadata (keys/shared_cache.py). Services ask it for metadata and tell it
what changed; which of those parts exist is configuration.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from strongroom.keys.cache import KeyCaches, UserRef
from strongroom.keys.models import KeyInfo


class Freshness(Protocol):
    def trusted(self) -> bool: ...

    @property
    def staleness_bound(self) -> float:
        """interval + max_staleness: how old a change may be before it is acted on."""
        ...


class ChangePublisher(Protocol):
    def publish(self, ref: UserRef) -> None: ...


class SharedMetadata(Protocol):
    """A second-level metadata cache shared by replicas (keys/shared_cache.py)."""

    async def get(self, ref: UserRef) -> KeyInfo | None: ...

    async def put(self, info: KeyInfo) -> None: ...

    def forget_soon(self, ref: UserRef, then: Callable[[UserRef], None] | None = None) -> None: ...

    async def close(self) -> None: ...


class KeyCache:
    def __init__(
        self,
        local: KeyCaches,
        feed: Freshness | None = None,
        hints: ChangePublisher | None = None,
        shared: SharedMetadata | None = None,
    ) -> None:
        self.local = local
        self._feed, self._hints, self._shared = feed, hints, shared

    async def info(
        self, ref: UserRef, read: Callable[[], Awaitable[KeyInfo]], *, fresh: bool = False
    ) -> KeyInfo:
        """The key's metadata: cached unless ``fresh``, else from the shared level, else
        ``read()`` from the database; concurrent callers share one load.

        While the feed is not trusted, an entry whose load started less than
        ``staleness_bound`` ago is still served: it saw every change committed before
        it started, so the documented window holds without a read per request. With a
        shared level, whose entries may predate their load, only a fresh load is."""
        trusted = self._feed is None or self._feed.trusted()
        max_age = None
        if not trusted and self._feed is not None:
            max_age = self._feed.staleness_bound
            fresh = fresh or self._shared is not None
        use_shared = self._shared is not None and not fresh

        async def load() -> KeyInfo:
            info = None
            if (
                self._shared is not None
                and use_shared
                and (self._feed is None or self._feed.trusted())
            ):
                info = await self._shared.get(ref)
            if info is None:
                info = await read()
                if self._shared is not None:
                    await self._shared.put(info)
            return info

        return await self.local.info(ref, load, fresh=fresh, max_age=max_age)

    def changed(self, ref: UserRef) -> None:
        """After a committed rotation, deletion or policy change of ``ref``: drop it
        here and hint the other replicas (their change feed catches it regardless)."""
        self.local.drop_user(ref)
        publish = self._hints.publish if self._hints is not None else None
        if self._shared is not None:
            # Forget first: a replica woken by the hint must not find the old entry.
            self._shared.forget_soon(ref, then=publish)
        elif publish is not None:
            publish(ref)

    async def close(self) -> None:
        await self.local.close()
        if self._shared is not None:
            await self._shared.close()
