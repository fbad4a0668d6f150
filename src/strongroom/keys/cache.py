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
from collections.abc import Hashable
from typing import Any, TypeVar

from cachetools import LRUCache, TTLCache

from strongroom.crypto.envelope import DataKey
from strongroom.keys.models import KeyInfo
from strongroom.observability.metrics import KEY_CACHE

UserRef = tuple[str, str]
_T = TypeVar("_T")
_MAX_DROP_MARKS = 100_000
# Children bound once: a labels() lookup per cache read would cost more than the read.
_COUNT = {
    (cache, hit): KEY_CACHE.labels(cache, "hit" if hit else "miss")
    for cache in ("metadata", "private", "data_key", "public")
    for hit in (True, False)
}


def _counted(cache: str, value: _T) -> _T:
    _COUNT[(cache, value is not None)].inc()
    return value


def _new(size: int, ttl: float) -> TTLCache[Hashable, Any]:
    # A TTL of 0 disables the cache (``_enabled``), it never means "keep forever".
    return TTLCache(maxsize=max(size, 1), ttl=max(ttl, 1e-9), timer=time.monotonic)


class KeyCaches:
    def __init__(
        self, *, metadata_ttl: float, private_size: int, private_ttl: float, data_key_size: int
    ) -> None:
        self.metadata_ttl = metadata_ttl
        self._metadata: TTLCache[Hashable, Any] | LRUCache[Hashable, Any] = _new(
            max(private_size, 1024), metadata_ttl
        )
        self._private = _new(private_size, private_ttl)
        self._data_keys = _new(data_key_size, private_ttl)
        self._public: LRUCache[Hashable, Any] = LRUCache(max(private_size, 1024))
        # Drop marks: ref -> sequence number of its last drop; loads started before it
        # (token <= mark) are not cached. ``_floor`` forgets old marks in bulk.
        self._seq = 0
        self._floor = 0
        self._dropped: dict[UserRef, int] = {}
        self._enabled = {
            "metadata": metadata_ttl > 0,
            "private": private_size > 0 and private_ttl > 0,
            "data": data_key_size > 0 and private_ttl > 0,
        }

    # load tokens -----------------------------------------------------------
    def token(self) -> int:
        """Take before loading anything that may be cached."""
        return self._seq

    def _stale(self, ref: UserRef, token: int) -> bool:
        return token < self._floor or self._dropped.get(ref, -1) > token

    # metadata -------------------------------------------------------------
    def get_info(self, ref: UserRef) -> KeyInfo | None:
        info: KeyInfo | None = self._metadata.get(ref) if self._enabled["metadata"] else None
        return _counted("metadata", info)

    def info_generation(self, ref: UserRef) -> int | None:
        info = self._metadata.get(ref)
        return None if info is None else int(info.generation)

    def put_info(self, info: KeyInfo, token: int) -> None:
        ref = (info.tenant, info.user_id)
        if self._enabled["metadata"] and not self._stale(ref, token):
            self._metadata[ref] = info

    # loaded public keys (immutable per version) --------------------------
    def get_public(self, ref: UserRef, version: int) -> Any:
        return _counted("public", self._public.get((*ref, version)))

    def put_public(self, ref: UserRef, version: int, key: Any) -> None:
        self._public[(*ref, version)] = key

    # private keys ----------------------------------------------------------
    def get_private(self, ref: UserRef, version: int) -> Any:
        return _counted("private", self._private.get((*ref, version)))

    def put_private(self, ref: UserRef, version: int, key: Any, token: int) -> None:
        if self._enabled["private"] and not self._stale(ref, token):
            self._private[(*ref, version)] = key

    # data keys -------------------------------------------------------------
    @staticmethod
    def data_key_id(ref: UserRef, version: int, header: bytes, context: str) -> Hashable:
        return (*ref, version, hashlib.sha256(header).digest(), context)

    def get_data_key(self, key_id: Hashable) -> DataKey | None:
        result: DataKey | None = _counted("data_key", self._data_keys.get(key_id))
        return result

    def put_data_key(self, key_id: Hashable, dk: DataKey, token: int) -> None:
        ref = key_id[:2] if isinstance(key_id, tuple) else None
        if self._enabled["data"] and ref is not None and not self._stale(ref, token):
            self._data_keys[key_id] = dk

    # invalidation ------------------------------------------------------------
    def drop_user(self, ref: UserRef) -> None:
        """Forget everything about one user (rotation, deletion, policy change)."""
        self._seq += 1
        if len(self._dropped) >= _MAX_DROP_MARKS:
            self._floor, self._dropped = self._seq, {}
        self._dropped[ref] = self._seq
        self._metadata.pop(ref, None)
        for cache in (self._private, self._data_keys):
            for k in [k for k in list(cache.keys()) if isinstance(k, tuple) and k[:2] == ref]:
                cache.pop(k, None)

    def clear(self) -> None:
        for cache in (self._metadata, self._private, self._data_keys, self._public):
            cache.clear()
