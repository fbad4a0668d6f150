"""Key metadata (and with it the public keys) shared between replicas through Redis.

An optional second level under the in-process metadata cache: a replica with a cold
cache reads a user's metadata from Redis instead of the database. Only metadata and
public keys ever go to Redis; private and data keys stay in process memory.

Staleness stays bounded exactly as for the process cache (keys/feed.py), without
relying on any delete reaching Redis:
- an entry lives at most ``feed.window`` seconds, so any change made after the
  entry was written is still inside the change feed's window while it lives;
- an entry older than the generation the feed has seen for its user is ignored;
- nothing is read from Redis while the feed is not trusted.
Every Redis failure means "miss" (slower, never failing); after one, Redis is left
alone for ``backoff`` seconds so a dead Redis costs no per-request timeout.

Value invariant: JSON ``{"v": 1, "info": {...}}`` with ISO-8601 UTC times and
base64 public keys; never pickle (a writable Redis must not mean code execution).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime
from typing import Any, Protocol

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

from strongroom.keys.models import KeyInfo, KeyState, VersionInfo, VersionState

log = structlog.get_logger("strongroom.keys.shared_cache")
UserRef = tuple[str, str]


class GenerationSource(Protocol):
    window: float

    def trusted(self) -> bool: ...

    def seen_generation(self, ref: UserRef) -> int | None: ...


def encode_info(info: KeyInfo) -> bytes:
    def plain(value: Any) -> Any:
        if isinstance(value, datetime):
            return value.isoformat()
        if isinstance(value, bytes):
            return base64.b64encode(value).decode()
        return value

    raw = asdict(info)
    body = {k: plain(v) for k, v in raw.items() if k != "versions"}
    body["versions"] = [{k: plain(v) for k, v in ver.items()} for ver in raw["versions"]]
    return json.dumps({"v": 1, "info": body}, separators=(",", ":")).encode()


def decode_info(data: bytes | str) -> KeyInfo:
    body = json.loads(data)["info"]

    def when(value: str | None) -> datetime | None:
        return None if value is None else datetime.fromisoformat(value)

    versions = tuple(
        VersionInfo(
            int(v["version"]),
            VersionState(v["state"]),
            datetime.fromisoformat(v["created_at"]),
            when(v["destroyed_at"]),
            None if v["public_key"] is None else base64.b64decode(v["public_key"]),
        )
        for v in body["versions"]
    )
    return KeyInfo(
        key_id=int(body["key_id"]),
        tenant=str(body["tenant"]),
        user_id=str(body["user_id"]),
        key_type=str(body["key_type"]),
        state=KeyState(body["state"]),
        current_version=int(body["current_version"]),
        min_decryption_version=int(body["min_decryption_version"]),
        rotation_period_days=int(body["rotation_period_days"]),
        deletion_date=when(body["deletion_date"]),
        generation=int(body["generation"]),
        created_at=datetime.fromisoformat(body["created_at"]),
        updated_at=datetime.fromisoformat(body["updated_at"]),
        last_rotated_at=datetime.fromisoformat(body["last_rotated_at"]),
        versions=versions,
    )


def redis_key(ref: UserRef) -> str:
    # Hashed: tenant and userId are caller-chosen strings (colons, length).
    digest = hashlib.sha256(f"{ref[0]}\x00{ref[1]}".encode()).hexdigest()[:40]
    return f"strongroom:meta:{digest}"


class RedisMetadataCache:
    def __init__(
        self, url: str, feed: GenerationSource, *, ttl: float, backoff: float = 5.0
    ) -> None:
        self._redis: Redis = Redis.from_url(url, socket_timeout=0.25, socket_connect_timeout=0.25)
        self._feed = feed
        self._ttl_ms = max(1, int(min(ttl, feed.window) * 1000))
        self._backoff = backoff
        self._skip_until = 0.0
        self._pending: set[asyncio.Task[None]] = set()

    async def get(self, ref: UserRef) -> KeyInfo | None:
        if not self._feed.trusted() or not self._usable():
            return None
        try:
            data = await self._redis.get(redis_key(ref))
        except RedisError as exc:
            self._failed(exc)
            return None
        if data is None:
            return None
        try:
            info = decode_info(data)
        except (ValueError, KeyError, TypeError):
            return None  # unreadable entry: the database answers instead
        seen = self._feed.seen_generation(ref)
        if (info.tenant, info.user_id) != ref or (seen is not None and info.generation < seen):
            return None
        return info

    async def put(self, info: KeyInfo) -> None:
        if not self._usable():
            return
        try:
            key = redis_key((info.tenant, info.user_id))
            await self._redis.set(key, encode_info(info), px=self._ttl_ms)
        except RedisError as exc:
            self._failed(exc)

    def forget_soon(self, ref: UserRef, then: Callable[[UserRef], None] | None = None) -> None:
        """Fire and forget from synchronous code (a request never waits on Redis);
        ``then`` runs after the delete was tried, whatever its outcome."""

        async def forget_then() -> None:
            await self.forget(ref)
            if then is not None:
                then(ref)

        task = asyncio.get_running_loop().create_task(forget_then())
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def forget(self, ref: UserRef) -> None:
        """After a change made here: a shortcut, the generation check is the guarantee."""
        if not self._usable():
            return
        try:
            await self._redis.delete(redis_key(ref))
        except RedisError as exc:
            self._failed(exc)

    async def close(self) -> None:
        if self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)
        await self._redis.aclose()

    def _usable(self) -> bool:
        return time.monotonic() >= self._skip_until

    def _failed(self, exc: Exception) -> None:
        if self._skip_until == 0.0 or time.monotonic() >= self._skip_until:
            log.warning("redis_metadata_cache_failing", error_type=type(exc).__name__)
        self._skip_until = time.monotonic() + self._backoff
