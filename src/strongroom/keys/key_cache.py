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
        """The key's metadata: cached unless ``fresh`` or the feed distrusts the caches,
        else from the shared level, else ``read()`` from the database."""
        trusted = not fresh and (self._feed is None or self._feed.trusted())
        info = self.local.get_info(ref) if trusted else None
        if info is not None:
            return info
        token = self.local.token()
        if trusted and self._shared is not None:
            info = await self._shared.get(ref)
        if info is None:
            info = await read()
            if self._shared is not None:
                await self._shared.put(info)
        self.local.put_info(info, token)
        return info

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
        if self._shared is not None:
            await self._shared.close()
