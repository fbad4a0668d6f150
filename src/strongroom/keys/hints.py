"""Redis pub/sub hints between replicas: "this user's key changed, drop it now".

Only a shortcut: the change feed (keys/feed.py) bounds staleness whether or not a
message arrives, so every failure here (Redis down, a lost subscription, a dropped
message) is logged once and otherwise ignored. Messages carry only the tenant and
userId, both of which are identifiers, never key material.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

from strongroom.keys.cache import UserRef

log = structlog.get_logger("strongroom.keys.hints")
CHANNEL = "strongroom:key-changes"


class RedisHints:
    def __init__(self, url: str, on_change: Callable[[UserRef], None]) -> None:
        self._redis: Redis = Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)
        self._on_change = on_change
        self._pending: set[asyncio.Task[None]] = set()
        self._failing = False
        self.subscribed = asyncio.Event()

    def publish(self, ref: UserRef) -> None:
        """Fire and forget: a request never waits on, or fails because of, Redis."""
        task = asyncio.get_running_loop().create_task(self._publish(ref))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _publish(self, ref: UserRef) -> None:
        try:
            await self._redis.publish(CHANNEL, json.dumps(list(ref)))
        except (RedisError, OSError) as exc:
            self._note_failure("publish", exc)

    async def run(self) -> None:
        """Subscribe and apply hints until cancelled; resubscribe after any failure."""
        while True:
            try:
                async with self._redis.pubsub() as pubsub:
                    await pubsub.subscribe(CHANNEL)
                    self.subscribed.set()
                    self._failing = False
                    async for message in pubsub.listen():
                        self._apply(message)
            except (RedisError, OSError) as exc:
                self.subscribed.clear()
                self._note_failure("subscribe", exc)
            await asyncio.sleep(1.0)

    def _apply(self, message: dict[str, object]) -> None:
        if message.get("type") != "message":
            return
        try:
            tenant, user_id = json.loads(message["data"])  # type: ignore[arg-type]
        except (ValueError, TypeError):
            return
        if isinstance(tenant, str) and isinstance(user_id, str):
            self._on_change((tenant, user_id))

    def _note_failure(self, what: str, exc: BaseException) -> None:
        if not self._failing:
            log.warning("key_hints_unavailable", operation=what, error_type=type(exc).__name__)
        self._failing = True

    async def ping(self) -> bool:
        try:
            return bool(await self._redis.ping())
        except (RedisError, OSError):
            return False

    async def close(self) -> None:
        for task in list(self._pending):
            task.cancel()
        await self._redis.aclose()
