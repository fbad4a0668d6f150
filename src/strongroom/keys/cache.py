"""In-process caches for one replica.

* metadata: (tenant, userId) -> KeyInfo, short TTL (other replicas may rotate);
* private keys: (tenant, userId, version) -> loaded key, LRU + TTL (15 min default);
* data keys: (tenant, userId, version, SHA-256(header), context) -> opened DataKey,
  filled only after this user's own private key opened the header.

Every entry of a user is dropped together on rotation, deletion or policy change
(made here, or seen by the change feed from another replica). A load that was in
flight when its user was dropped must not put its result back: callers take a
``token()`` before loading and pass it to ``put_*``, which refuse a stale token.
Secret entries never leave process memory (no Redis, no disk).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, TypeVar

from cachetools import LRUCache

from strongroom.caching import DropMarks, SingleFlight
from strongroom.crypto.envelope import DataKey
from strongroom.keys.models import KeyInfo
from strongroom.observability.metrics import KEY_CACHE

UserRef = tuple[str, str]
_T = TypeVar("_T")
# Children bound once: a labels() lookup per cache read would cost more than the read.
_COUNT = {
    (cache, hit): KEY_CACHE.labels(cache, "hit" if hit else "miss")
    for cache in ("metadata", "private", "data_key", "public")
    for hit in (True, False)
}


def _counted(cache: str, value: _T) -> _T:
    _COUNT[(cache, value is not None)].inc()
    return value


def _now() -> float:
    return time.monotonic()  # looked up per call: tests replace time.monotonic


def _user(key: Hashable) -> Hashable:
    # Every key starts with (tenant, userId): a user's entries drop together.
    return key[:2] if isinstance(key, tuple) else key


class KeyCaches:
    def __init__(
        self,
        *,
        metadata_ttl: float,
        private_size: int,
        private_ttl: float,
        data_key_size: int,
        refresh_ahead: float = 0.8,
        clock: Callable[[], float] = _now,
    ) -> None:
        self.metadata_ttl = metadata_ttl
        # One set of drop marks: a load of any kind that started before its user was
        # dropped is not stored (single-flight loads, strongroom/caching.py).
        self.marks = DropMarks()

        def flight(ttl: float, size: int, name: str) -> SingleFlight[Hashable, Any]:
            # A TTL of 0 disables a cache (stores nothing), it never means "keep forever".
            return SingleFlight(
                ttl=ttl,
                maxsize=size,
                refresh_ahead=refresh_ahead,
                clock=clock,
                marks=self.marks,
                group=_user,
                name=name,
            )

        self._metadata = flight(metadata_ttl, max(private_size, 1024), "metadata")
        self._private = flight(private_ttl, private_size, "private")
        self._data_keys = flight(private_ttl, data_key_size, "data_key")
        self._public: LRUCache[Hashable, Any] = LRUCache(max(private_size, 1024))

    # load tokens (for values loaded outside ``info``/``private``/``data_key``) -----
    def token(self) -> int:
        """Take before loading anything that may be cached."""
        return self.marks.token()

    # metadata -------------------------------------------------------------
    async def info(
        self,
        ref: UserRef,
        load: Callable[[], Awaitable[KeyInfo]],
        *,
        fresh: bool = False,
        max_age: float | None = None,
    ) -> KeyInfo:
        """Cached metadata, else one shared ``load()`` for all concurrent callers."""
        if not fresh:
            _counted("metadata", self._metadata.peek(ref, max_age=max_age))
        info: KeyInfo = await self._metadata.get(ref, load, fresh=fresh, max_age=max_age)
        return info

    def get_info(self, ref: UserRef) -> KeyInfo | None:
        info: KeyInfo | None = self._metadata.peek(ref)
        return _counted("metadata", info)

    def put_info(self, info: KeyInfo, token: int) -> None:
        self._metadata.put((info.tenant, info.user_id), info, token)

    # loaded public keys (immutable per version, loaded without I/O) --------
    def get_public(self, ref: UserRef, version: int) -> Any:
        return _counted("public", self._public.get((*ref, version)))

    def put_public(self, ref: UserRef, version: int, key: Any) -> None:
        self._public[(*ref, version)] = key

    # private keys ----------------------------------------------------------
    async def private(self, ref: UserRef, version: int, load: Callable[[], Awaitable[Any]]) -> Any:
        """The private key of a version: one unwrap for all concurrent callers."""
        key = (*ref, version)
        _counted("private", self._private.peek(key))
        return await self._private.get(key, load)

    def get_private(self, ref: UserRef, version: int) -> Any:
        return _counted("private", self._private.peek((*ref, version)))

    def put_private(self, ref: UserRef, version: int, key: Any, token: int) -> None:
        self._private.put((*ref, version), key, token)

    # data keys -------------------------------------------------------------
    @staticmethod
    def data_key_id(ref: UserRef, version: int, header: bytes, context: str) -> Hashable:
        return (*ref, version, hashlib.sha256(header).digest(), context)

    async def data_key(self, key_id: Hashable, load: Callable[[], Awaitable[DataKey]]) -> DataKey:
        _counted("data_key", self._data_keys.peek(key_id))
        dk: DataKey = await self._data_keys.get(key_id, load)
        return dk

    def get_data_key(self, key_id: Hashable) -> DataKey | None:
        result: DataKey | None = _counted("data_key", self._data_keys.peek(key_id))
        return result

    def put_data_key(self, key_id: Hashable, dk: DataKey, token: int) -> None:
        if isinstance(key_id, tuple):
            self._data_keys.put(key_id, dk, token)

    # invalidation ------------------------------------------------------------
    def drop_user(self, ref: UserRef) -> None:
        """Forget everything about one user (rotation, deletion, policy change); loads
        of that user in flight now are not stored, and callers from now on wait for a
        new load rather than join them."""
        self.marks.mark(ref)
        for cache in (self._metadata, self._private, self._data_keys):
            cache.drop_group_entries(ref)

    def clear(self) -> None:
        for cache in (self._metadata, self._private, self._data_keys):
            cache.clear()
        self._public.clear()

    async def close(self) -> None:
        for cache in (self._metadata, self._private, self._data_keys):
            await cache.close()
