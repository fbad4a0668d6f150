"""Cache invalidation across replicas: a rotation, deletion or policy change made
through one replica stops every other replica from using the old state within
``key_feed_interval + key_feed_max_staleness`` (0.5 + 1.5 s by default), without
relying on any message arriving."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from strongroom.config import Settings
from strongroom.context import Actor
from strongroom.errors import KeyDisabled
from strongroom.keys.models import RotationReason
from strongroom.kms.local import create_master_key_file
from strongroom.services.container import Services, build_services
from strongroom.store import keys_repo
from tests.integration.test_cli import Server, run_cli, servers, srk_lines, start  # noqa: F401
from tests.services import PostgresServer

ACTOR = Actor("test", "default", "rid", None)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["sqlite", "postgres"])
async def replicas(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[Services, Services]]:
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path}/shared.db"
    else:
        url = request.getfixturevalue("postgres_server").create_database()
    create_master_key_file(tmp_path / "k")
    settings = Settings(database_url=url, master_key_file=tmp_path / "k", scheduler_enabled=False)
    a, b = build_services(settings), build_services(settings)
    await a.start(migrate=True)
    await b.start()
    try:
        yield a, b
    finally:
        await a.close()
        await b.close()


def version_of(ciphertexts: list[str]) -> set[str]:
    return {c.split(":")[1] for c in ciphertexts}


async def test_poll_drops_what_another_replica_rotated(replicas: tuple[Services, Services]) -> None:
    a, b = replicas
    clock = Clock()
    b.feed._clock = clock
    await b.feed.poll_once()
    await a.keys.create(ACTOR, "u", None, None)
    assert version_of(await b.keys.encrypt(ACTOR, "u", ["x"], None)) == {"v1"}  # now cached
    await a.rotation.rotate(ACTOR, "u", [], RotationReason.ON_DEMAND, None)
    # Before any poll b still trusts its cache: this is the window the feed bounds.
    assert version_of(await b.keys.encrypt(ACTOR, "u", ["x"], None)) == {"v1"}
    assert await b.feed.poll_once() >= 1
    assert version_of(await b.keys.encrypt(ACTOR, "u", ["x"], None)) == {"v2"}


async def test_a_replica_whose_polls_fail_stops_trusting_its_cache(
    replicas: tuple[Services, Services], monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = replicas
    clock = Clock()
    b.feed._clock = clock
    b.keys.core.caches._metadata.clock = clock  # the entry's age, on the same clock
    await a.keys.create(ACTOR, "w", None, None)
    await b.feed.poll_once()
    reads = count_key_reads(monkeypatch)
    assert version_of(await b.keys.encrypt(ACTOR, "w", ["x"], None)) == {"v1"}
    await a.rotation.rotate(ACTOR, "w", [], RotationReason.ON_DEMAND, None)
    clock.now += b.feed.max_staleness + 0.01  # no successful poll since: the channel is lost
    assert not b.feed.trusted()
    # An entry whose read started less than interval + max_staleness ago is still
    # served (it saw every change older than the window): no read per request ...
    before = len(reads)
    assert version_of(await b.keys.encrypt(ACTOR, "w", ["x"], None)) == {"v1"}
    assert len(reads) == before
    # ... and once it is older than that, it is read again.
    clock.now = b.feed.staleness_bound + 0.01
    assert version_of(await b.keys.encrypt(ACTOR, "w", ["x"], None)) == {"v2"}
    assert len(reads) == before + 1


async def test_untrusted_fallback_shares_one_read_among_concurrent_requests(
    replicas: tuple[Services, Services], monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = replicas
    clock = Clock()
    b.feed._clock = clock
    b.keys.core.caches._metadata.clock = clock
    await a.keys.create(ACTOR, "m", None, None)
    assert not b.feed.trusted()  # never polled
    reads = count_key_reads(monkeypatch)
    results = await asyncio.gather(*(b.keys.encrypt(ACTOR, "m", ["x"], None) for _ in range(100)))
    assert all(version_of(r) == {"v1"} for r in results)
    assert len(reads) == 1


def count_key_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Key metadata reads from the database (the key row query), by userId."""
    seen: list[str] = []
    read = keys_repo.get_key

    async def get_key(s: Any, tenant: str, user_id: str) -> Any:
        seen.append(user_id)
        return await read(s, tenant, user_id)

    monkeypatch.setattr(keys_repo, "get_key", get_key)
    return seen


async def test_deletion_through_one_replica_disables_the_other(
    replicas: tuple[Services, Services],
) -> None:
    a, b = replicas
    await a.keys.create(ACTOR, "d", None, None)
    await b.feed.poll_once()
    ct = await b.keys.encrypt(ACTOR, "d", ["secret"], None)
    assert await b.keys.decrypt(ACTOR, "d", ct, None) == ["secret"]
    await a.lifecycle.schedule_deletion(ACTOR, "d", None)
    await b.feed.poll_once()
    with pytest.raises(KeyDisabled):
        await b.keys.decrypt(ACTOR, "d", ct, None)


@pytest.mark.slow
@pytest.mark.postgres
def test_two_processes_on_postgresql_see_a_rotation_within_two_seconds(
    tmp_path: Path,
    servers: list[Server],  # noqa: F811
    postgres_server: PostgresServer,
) -> None:
    url = postgres_server.create_database()
    first = start(servers, tmp_path, "first", STRONGROOM_DATABASE_URL=url)
    admin = srk_lines(first.stdout())[0].strip()
    second = start(servers, tmp_path, "second", STRONGROOM_DATABASE_URL=url)
    assert first.post("/api/v1/keys", admin, {"userId": "r"}).status_code == 201
    enc = second.post("/api/v1/encrypt", admin, {"userId": "r", "data": ["x"]})
    assert version_of(enc.json()["encryptedData"]) == {"v1"}  # second has it cached
    rotated = first.post("/api/v1/rotate", admin, {"userId": "r", "data": []})
    assert rotated.status_code == 200, rotated.text
    t0 = time.monotonic()
    seen_at = None
    while time.monotonic() - t0 < 2.0:
        enc = second.post("/api/v1/encrypt", admin, {"userId": "r", "data": ["x"]})
        if seen_at is None and version_of(enc.json()["encryptedData"]) == {"v2"}:
            seen_at = time.monotonic() - t0
        time.sleep(0.05)
    print(f"second replica encrypted under v2 after {seen_at}s")
    # The bound: 2 s after the rotation committed, only the new version is used.
    for _ in range(5):
        enc = second.post("/api/v1/encrypt", admin, {"userId": "r", "data": ["x"]})
        assert version_of(enc.json()["encryptedData"]) == {"v2"}
    assert seen_at is not None


@pytest.mark.services
async def test_redis_hint_drops_at_once_without_a_poll(tmp_path: Path, redis_server: Any) -> None:
    create_master_key_file(tmp_path / "k")
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path}/h.db",
        master_key_file=tmp_path / "k",
        redis_url=redis_server.url,
        scheduler_enabled=False,
    )
    a, b = build_services(settings), build_services(settings)
    await a.start(migrate=True)
    await b.start()
    assert a.hints is not None and b.hints is not None
    listener = asyncio.create_task(b.hints.run())
    try:
        await asyncio.wait_for(b.hints.subscribed.wait(), 10)
        clock = Clock()
        b.feed._clock = clock
        await b.feed.poll_once()  # trusted from here on: only the hint can drop the user
        received: list[tuple[str, str]] = []
        on_change = b.hints._on_change

        def record(ref: tuple[str, str]) -> None:
            received.append(ref)
            on_change(ref)

        b.hints._on_change = record

        async def hints_received(n: int) -> None:
            for _ in range(250):  # the message arrives within milliseconds
                if len(received) >= n:
                    return
                await asyncio.sleep(0.02)
            raise AssertionError(f"{n} hints expected, got {len(received)}")

        await a.keys.create(ACTOR, "h", None, None)
        await hints_received(1)  # the creation's hint, so it cannot be mistaken for the next
        assert version_of(await b.keys.encrypt(ACTOR, "h", ["x"], None)) == {"v1"}
        await a.rotation.rotate(ACTOR, "h", [], RotationReason.ON_DEMAND, None)
        await hints_received(2)
        assert b.keys.core.caches.get_info(("default", "h")) is None
        assert b.feed.trusted()
        assert version_of(await b.keys.encrypt(ACTOR, "h", ["x"], None)) == {"v2"}
    finally:
        listener.cancel()
        await a.close()
        await b.close()


async def test_redis_down_is_slower_not_failing(tmp_path: Path) -> None:
    create_master_key_file(tmp_path / "k")
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path}/d.db",
        master_key_file=tmp_path / "k",
        redis_url="redis://127.0.0.1:1/0",  # nothing listens there
        scheduler_enabled=False,
    )
    a = build_services(settings)
    await a.start(migrate=True)
    hints = a.hints
    assert hints is not None
    listener = asyncio.create_task(hints.run())
    try:
        await a.keys.create(ACTOR, "n", None, None)
        await a.rotation.rotate(ACTOR, "n", [], RotationReason.ON_DEMAND, None)  # publishes
        assert version_of(await a.keys.encrypt(ACTOR, "n", ["x"], None)) == {"v2"}
        await asyncio.sleep(0.1)
        assert not listener.done()  # still retrying, no crash
    finally:
        listener.cancel()
        await a.close()
