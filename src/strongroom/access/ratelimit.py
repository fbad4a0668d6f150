"""Rate limits: token buckets per principal (requests and items), per client address
for unauthenticated or failed requests, and a cap on the distinct users one
principal may decrypt per window (the shape of bulk exfiltration).

With ``STRONGROOM_REDIS_URL`` the buckets are shared by every replica (one Lua script
per check, atomic in Redis, clock from Redis ``TIME``); without it, or while Redis
is failing, each replica keeps its own buckets, so limits hold per replica rather
than disappear (Redis down means looser, never failing). Bucket keys are hashed:
principal ids and addresses never appear in Redis key names.
"""

from __future__ import annotations

import functools
import hashlib
import math
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Protocol

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

log = structlog.get_logger("strongroom.access.ratelimit")

# KEYS[1] bucket; ARGV: capacity, refill per second, cost (0 = only check).
# Returns {seconds to wait (0 when allowed), tokens left} as strings (Lua numbers
# would be truncated to integers on the way back).
_BUCKET_LUA = """
local now = redis.call('TIME')
local t = tonumber(now[1]) + tonumber(now[2]) / 1e6
local cap, rate, cost = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local s = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(s[1]) or cap
local ts = tonumber(s[2]) or t
tokens = math.min(cap, tokens + math.max(0, t - ts) * rate)
local need = math.max(cost, 1)
if tokens < need then
  return {tostring((need - tokens) / rate), tostring(tokens)}
end
tokens = tokens - cost
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(t))
redis.call('EXPIRE', KEYS[1], math.ceil(cap / rate) + 1)
return {'0', tostring(tokens)}
"""

# KEYS[1] set; ARGV: member, cap, window seconds. 1 = allowed.
_DISTINCT_LUA = """
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 then return 1 end
if redis.call('SCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('SADD', KEYS[1], ARGV[1])
if redis.call('TTL', KEYS[1]) < 0 then redis.call('EXPIRE', KEYS[1], ARGV[3]) end
return 1
"""


class Buckets(Protocol):
    async def take(
        self, key: str, capacity: int, per_second: float, cost: int
    ) -> tuple[float, float]:
        """Take ``cost`` tokens (0: only check one is left); (seconds to wait, 0 if
        allowed; tokens left)."""
        ...

    async def distinct(self, key: str, member: str, cap: int, window: float) -> bool:
        """Record ``member`` in the windowed set unless that would exceed ``cap``."""
        ...

    async def close(self) -> None: ...


@dataclass
class LocalBuckets:
    """This replica's buckets (no Redis, or Redis failing)."""

    max_keys: int = 100_000
    # Least recently used first: at ``max_keys`` the oldest entry is evicted (O(1)).
    _buckets: OrderedDict[str, tuple[float, float]] = field(default_factory=OrderedDict)
    _sets: OrderedDict[str, tuple[float, set[str]]] = field(default_factory=OrderedDict)

    async def take(
        self, key: str, capacity: int, per_second: float, cost: int
    ) -> tuple[float, float]:
        now = time.monotonic()
        tokens, ts = self._buckets.get(key, (float(capacity), now))
        tokens = min(capacity, tokens + (now - ts) * per_second)
        need = max(cost, 1)
        if tokens < need:
            if key in self._buckets:  # a spent bucket in use is the last to go
                self._buckets.move_to_end(key)
            return (need - tokens) / per_second, tokens
        self._buckets[key] = (tokens - cost, now)
        self._buckets.move_to_end(key)
        if len(self._buckets) > self.max_keys:
            # Bounded memory without a reset: only the least recently used bucket goes,
            # so spraying new keys (addresses) cannot refill anyone else's.
            self._buckets.popitem(last=False)
        return 0.0, tokens - cost

    async def distinct(self, key: str, member: str, cap: int, window: float) -> bool:
        now = time.monotonic()
        expires, members = self._sets.get(key, (now + window, set()))
        if expires <= now:
            expires, members = now + window, set()
        self._sets[key] = (expires, members)
        self._sets.move_to_end(key)  # used, allowed or not: the last to be evicted
        if len(self._sets) > self.max_keys:
            self._sets.popitem(last=False)
        if member in members:
            return True
        if len(members) >= cap:
            return False
        members.add(member)
        return True

    async def close(self) -> None:
        return None


class RedisBuckets:
    """Buckets shared through Redis, falling back to ``LocalBuckets`` while it fails."""

    def __init__(self, url: str, backoff: float = 5.0) -> None:
        self._redis: Redis = Redis.from_url(url, socket_timeout=0.25, socket_connect_timeout=0.25)
        self._bucket = self._redis.register_script(_BUCKET_LUA)
        self._distinct = self._redis.register_script(_DISTINCT_LUA)
        self._local = LocalBuckets()
        self._backoff = backoff
        self._skip_until = 0.0

    async def take(
        self, key: str, capacity: int, per_second: float, cost: int
    ) -> tuple[float, float]:
        if time.monotonic() >= self._skip_until:
            try:
                wait, left = await self._bucket(keys=[key], args=[capacity, per_second, cost])
                return float(wait), float(left)
            except RedisError as exc:
                self._failed(exc)
        return await self._local.take(key, capacity, per_second, cost)

    async def distinct(self, key: str, member: str, cap: int, window: float) -> bool:
        if time.monotonic() >= self._skip_until:
            try:
                ok = await self._distinct(keys=[key], args=[member, cap, math.ceil(window)])
                return bool(int(ok))
            except RedisError as exc:
                self._failed(exc)
        return await self._local.distinct(key, member, cap, window)

    async def close(self) -> None:
        await self._redis.aclose()

    def _failed(self, exc: Exception) -> None:
        if time.monotonic() >= self._skip_until:
            log.warning("redis_rate_limits_failing", error_type=type(exc).__name__)
        self._skip_until = time.monotonic() + self._backoff


@functools.lru_cache(maxsize=4096)  # two lookups per request, few principals
def bucket_key(kind: str, who: str) -> str:
    return f"strongroom:rl:{kind}:{hashlib.sha256(who.encode()).hexdigest()[:32]}"


def member_id(tenant: str, user_id: str) -> str:
    return hashlib.sha256(f"{tenant}\x00{user_id}".encode()).hexdigest()[:32]
