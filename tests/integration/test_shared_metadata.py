"""Key metadata shared between replicas through Redis (keys/shared_cache.py): a cold
replica reads it from Redis, a stale entry is never used once the change feed has
seen a newer generation, and Redis down means the database answers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from strongroom.config import Settings
from strongroom.context import Actor
from strongroom.keys.models import RotationReason
from strongroom.keys.shared_cache import (
    RedisMetadataCache,
    decode_info,
    encode_info,
    redis_key,
)
from strongroom.kms.local import create_master_key_file
from strongroom.services.container import Services, build_services

ACTOR = Actor("test", "default", "rid", None)
REF = ("default", "m")


@pytest.fixture
async def replicas(tmp_path: Path, redis_server: Any) -> AsyncIterator[tuple[Services, Services]]:
    create_master_key_file(tmp_path / "k")
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path}/s.db",
        master_key_file=tmp_path / "k",
        redis_url=redis_server.url,
        scheduler_enabled=False,
    )
    a, b = build_services(settings), build_services(settings)
    await a.start(migrate=True)
    await b.start()
    await a.feed.poll_once()
    await b.feed.poll_once()
    try:
        yield a, b
    finally:
        await a.close()
        await b.close()


def cache_of(svc: Services) -> RedisMetadataCache:
    shared = svc.keys.core.shared
    assert isinstance(shared, RedisMetadataCache)
    return shared


async def settle(svc: Services) -> None:
    """Let the replica's fire-and-forget deletes (after create/rotate) finish."""
    await asyncio.gather(*cache_of(svc)._pending)


def redis_of(svc: Services) -> Redis:
    return cache_of(svc)._redis


async def test_cold_replica_reads_metadata_from_redis(replicas: tuple[Services, Services]) -> None:
    a, b = replicas
    await a.keys.create(ACTOR, "m", None, None)
    await settle(a)
    info = await a.keys.core.load(*REF)
    raw = await redis_of(a).get(redis_key(REF))
    assert raw is not None and decode_info(raw) == info
    assert b"private" not in raw and b"wrapped" not in raw  # metadata and public keys only
    ttl_ms = await redis_of(a).pttl(redis_key(REF))
    assert 0 < ttl_ms <= a.settings.keys.feed.window_seconds * 1000
    # Prove b answers from Redis: plant a distinguishable (same generation) entry.
    planted = info.__class__(**{**info.__dict__, "rotation_period_days": 12345})
    await redis_of(a).set(redis_key(REF), encode_info(planted), px=5000)
    await b.feed.poll_once()
    assert b.feed.trusted()
    assert (await b.keys.core.load(*REF)).rotation_period_days == 12345


async def test_stale_entry_is_ignored_after_a_rotation(replicas: tuple[Services, Services]) -> None:
    a, b = replicas
    await a.keys.create(ACTOR, "m", None, None)
    old = await a.keys.core.load(*REF)
    await a.rotation.rotate(ACTOR, "m", [], RotationReason.ON_DEMAND, None)
    await settle(a)
    # A slow loader (or a lost delete) writes the pre-rotation metadata back.
    await redis_of(a).set(redis_key(REF), encode_info(old), px=10_000)
    await b.feed.poll_once()  # b's feed has seen the new generation
    fresh = await b.keys.core.load(*REF)
    assert fresh.current_version == 2 and fresh.generation > old.generation
    enc = await b.keys.encrypt(ACTOR, "m", ["x"], None)
    assert enc[0].split(":")[1] == "v2"


async def test_redis_down_falls_back_to_the_database(tmp_path: Path) -> None:
    create_master_key_file(tmp_path / "k")
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path}/d.db",
        master_key_file=tmp_path / "k",
        redis_url="redis://127.0.0.1:1/0",  # nothing listens there
        scheduler_enabled=False,
    )
    svc = build_services(settings)
    await svc.start(migrate=True)
    try:
        await svc.feed.poll_once()
        await svc.keys.create(ACTOR, "m", None, None)
        svc.keys.core.caches.clear()
        t0 = time.perf_counter()
        for _ in range(20):
            svc.keys.core.caches.clear()
            assert (await svc.keys.core.load(*REF)).current_version == 1
        # One failed connect, then Redis is left alone for a while (no per-call timeout).
        assert time.perf_counter() - t0 < 5
    finally:
        await svc.close()
