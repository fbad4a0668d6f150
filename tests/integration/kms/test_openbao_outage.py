"""Killing the OpenBao server under a running Strongroom (issue 4, resilience).

Cached users keep working; an uncached user gets 503 SYS001 in well under a
second (retries are bounded, then the breaker answers at once); when OpenBao comes
back with the same key, service resumes without restarting Strongroom.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from strongroom.api.app import create_app
from strongroom.kms.local import create_master_key_file
from strongroom.services.container import build_services
from tests.api.conftest import App, make_settings
from tests.kms_services import PersistentOpenBao

BOB = "bob-canary-plaintext-7f3a"


@asynccontextmanager
async def strongroom_on(
    openbao: PersistentOpenBao, tmp_path: Path, **kms: Any
) -> AsyncIterator[App]:
    settings = make_settings(
        f"sqlite+aiosqlite:///{tmp_path / 'sr.db'}",
        tmp_path,
        kms="openbao",
        kms_openbao_addr=openbao.addr,
        kms_openbao_token=openbao.token,
        **kms,
    )
    create_master_key_file(settings.kms.master_key_file)  # unused by openbao; harmless
    services = build_services(settings)
    await services.start(migrate=True)
    _, admin_key = await services.access.create("default", ["admin"], "test admin")
    transport = httpx.ASGITransport(app=create_app(settings, services))
    async with httpx.AsyncClient(transport=transport, base_url="http://sr") as client:
        yield App(client, services, settings, admin_key, None)
    await services.close()


@pytest.fixture
async def bao_app(openbao_persistent: PersistentOpenBao, tmp_path: Path) -> AsyncIterator[App]:
    async with strongroom_on(
        openbao_persistent,
        tmp_path,
        kms_timeout_seconds=0.5,
        kms_breaker_threshold=3,
        kms_breaker_reset_seconds=1.0,
    ) as app:
        yield app


@pytest.mark.slow
async def test_openbao_outage_and_recovery(
    bao_app: App, openbao_persistent: PersistentOpenBao
) -> None:
    app = bao_app
    for user, key_type in (("alice", None), ("bob", None), ("carol", "aes256-gcm")):
        await app.create_key(user, key_type)
    alice_ct = await app.encrypt("alice", ["a1", "a2"])
    assert await app.decrypt("alice", alice_ct) == ["a1", "a2"]  # alice's key now cached
    carol_ct = await app.encrypt("carol", ["c1"])  # symmetric: unwrapped and cached
    bob_ct = await app.encrypt("bob", [BOB])  # public key only: bob stays uncached

    openbao_persistent.stop()

    # Cached users keep working, both ways.
    assert await app.decrypt("alice", await app.encrypt("alice", ["a3"])) == ["a3"]
    assert await app.decrypt("carol", carol_ct) == ["c1"]
    assert await app.decrypt("carol", await app.encrypt("carol", ["c2"])) == ["c2"]

    # Uncached: 503 SYS001, fast, every time (no piling up once the breaker opens).
    timings = []
    for _ in range(6):
        t0 = time.perf_counter()
        r = await app.post("/api/v1/decrypt", {"userId": "bob", "data": bob_ct})
        timings.append(time.perf_counter() - t0)
        assert r.status_code == 503, r.text
        assert r.json()["error"]["code"] == "SYS001"
        assert BOB not in r.text
    assert max(timings) < 1.0, timings
    print(f"uncached decrypt while OpenBao is down: {[round(t * 1000) for t in timings]} ms")
    r = await app.post("/api/v1/keys", {"userId": "dave"})  # needs a wrap
    assert r.status_code == 503 and r.json()["error"]["code"] == "SYS001"
    ready = await app.client.get("/readyz")
    assert ready.status_code == 503 and ready.json()["checks"]["kms"] is False

    openbao_persistent.start()  # same storage, same key; unsealed again

    restarted = time.monotonic()
    deadline = restarted + 10
    while True:
        r = await app.post("/api/v1/decrypt", {"userId": "bob", "data": bob_ct})
        if r.status_code == 200 or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.2)
    assert r.status_code == 200, r.text
    print(f"service resumed {time.monotonic() - restarted:.2f} s after OpenBao was back")
    assert r.json()["decryptedData"] == [BOB]
    await app.create_key("dave")
    assert await app.decrypt("dave", await app.encrypt("dave", ["d1"])) == ["d1"]
    assert (await app.client.get("/readyz")).status_code == 200
    assert await app.decrypt("alice", alice_ct) == ["a1", "a2"]


@pytest.mark.slow
async def test_a_hung_openbao_costs_one_deadline_and_recovery_follows_it(
    openbao_persistent: PersistentOpenBao, tmp_path: Path
) -> None:
    """OpenBao frozen (SIGSTOP: connections are accepted, nothing answers), with the
    default KMS settings: each request waits at most one deadline, the breaker opens
    after a couple of them, and once OpenBao resumes (SIGCONT) the next probe
    succeeds at once instead of after the full breaker reset."""
    bao = openbao_persistent
    assert bao.proc is not None
    async with strongroom_on(bao, tmp_path) as app:
        await app.create_key("bob")
        bob_ct = await app.encrypt("bob", [BOB])  # public key only: bob stays uncached

        async def decrypt_bob() -> tuple[int, float]:
            t0 = time.perf_counter()
            r = await app.post("/api/v1/decrypt", {"userId": "bob", "data": bob_ct})
            assert BOB not in r.text or r.status_code == 200
            return r.status_code, time.perf_counter() - t0

        os.kill(bao.proc.pid, signal.SIGSTOP)
        try:
            hung = time.perf_counter()
            latencies: list[float] = []
            while True:
                status, took = await decrypt_bob()
                assert status == 503, status
                latencies.append(took)
                if took < 0.1 or time.perf_counter() - hung > 60:
                    break
            fail_fast_after = time.perf_counter() - hung
            # And it stays fast: only a probe (one call at a time, from 0.25 s after
            # the breaker opened, then at doubling intervals) waits for a deadline.
            after = [await decrypt_bob() for _ in range(8)]
            assert all(status == 503 and took < 2.5 for status, took in after), after
            assert sum(took < 0.1 for _, took in after) >= 6, after
        finally:
            os.kill(bao.proc.pid, signal.SIGCONT)
        resumed = time.perf_counter()
        while True:
            status, _ = await decrypt_bob()
            if status == 200 or time.perf_counter() - resumed > 30:
                break
            await asyncio.sleep(0.05)
        recovered_after = time.perf_counter() - resumed
        print(
            f"hung KMS: worst request {max(latencies):.2f} s over {len(latencies)} requests; "
            f"requests fail fast {fail_fast_after:.2f} s after the hang; "
            f"first success {recovered_after:.2f} s after OpenBao resumed"
        )
        assert status == 200
        assert max(latencies) < 2.5  # one deadline (2 s), not timeout x attempts
        assert fail_fast_after < 6  # two timed-out requests open the breaker
        assert recovered_after < 3  # the probe follows the KMS, not the 5 s reset
