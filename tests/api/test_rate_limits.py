"""Rate limits over HTTP: 429 RATE001 with Retry-After, per principal, per item,
per address before authentication, distinct decrypt users; with Redis the budget
is shared by two replicas."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from strongroom.api.app import create_app
from strongroom.kms.local import create_master_key_file
from strongroom.services.container import build_services
from tests.api.conftest import App, make_settings

LIMITS = {
    "rate_limit_requests_per_minute": 5,
    "rate_limit_items_per_minute": 20,
    "rate_limit_unauthenticated_per_minute": 3,
    "rate_limit_decrypt_users_per_window": 2,
}


async def make_app(tmp_path: Path, name: str, **overrides: Any) -> tuple[App, Any]:
    settings = make_settings(f"sqlite+aiosqlite:///{tmp_path / 'rl.db'}", tmp_path, **overrides)
    create_master_key_file(settings.kms.master_key_file)
    services = build_services(settings)
    await services.start(migrate=True)
    _, key = await services.access.create("default", ["admin"], name)
    transport = httpx.ASGITransport(app=create_app(settings, services), client=("198.51.100.9", 1))
    client = httpx.AsyncClient(transport=transport, base_url="http://sr")
    return App(client, services, settings, key, None), services


@pytest.fixture
async def limited(tmp_path: Path) -> AsyncIterator[App]:
    app, services = await make_app(tmp_path, "limited", **LIMITS)
    yield app
    await app.client.aclose()
    await services.close()


def assert_limited(r: httpx.Response, budget: str) -> None:
    assert r.status_code == 429, r.text
    err = r.json()["error"]
    assert err["code"] == "RATE001" and err["details"]["budget"] == budget


async def test_requests_per_principal(limited: App) -> None:
    remaining = []
    for _ in range(5):
        r = await limited.get("/api/v1/keys/nobody")
        assert r.status_code == 404
        assert r.headers["RateLimit-Policy"] == '"req";q=5;w=60'
        remaining.append(int(r.headers["RateLimit"].split(";")[1].removeprefix("r=")))
    assert remaining == [4, 3, 2, 1, 0]
    r = await limited.get("/api/v1/keys/nobody")
    assert_limited(r, "req")
    assert 1 <= int(r.headers["Retry-After"]) <= 60
    assert r.headers["RateLimit"].startswith('"req";r=0;t=')
    # Another principal has its own budget.
    _, other = await limited.services.access.create("default", ["admin"], "other")
    r = await limited.client.get("/api/v1/keys/nobody", headers={"X-API-Key": other})
    assert r.status_code == 404


async def test_items_are_a_second_budget(limited: App) -> None:
    await limited.create_key("alice")
    assert len(await limited.encrypt("alice", ["x"] * 15)) == 15
    r = await limited.post("/api/v1/encrypt", {"userId": "alice", "data": ["x"] * 10})
    assert_limited(r, "items")
    assert r.headers["RateLimit-Policy"] == '"items";q=20;w=60'
    r = await limited.post("/api/v1/encrypt", {"userId": "alice", "data": ["x"] * 21})
    assert_limited(r, "items")  # larger than the whole budget: never fits
    assert "retryAfter" not in r.json()["error"]["details"]


async def test_failed_authentication_per_address(limited: App) -> None:
    for _ in range(3):
        r = await limited.client.get("/api/v1/keys/u", headers={"X-API-Key": "srk_live_bad"})
        assert r.status_code == 401
    r = await limited.client.get("/api/v1/keys/u", headers={"X-API-Key": "srk_live_bad"})
    assert_limited(r, "addr")
    # Even the right key is refused from that address until the budget refills.
    assert_limited(await limited.get("/api/v1/keys/u"), "addr")


async def test_distinct_decrypt_users(limited: App) -> None:
    cts = {}
    for user in ("u1", "u2", "u3"):
        await limited.services.keys.create(_actor(), user, None, None)
        cts[user] = await limited.services.keys.encrypt(_actor(), user, ["s"], None)
    assert await limited.decrypt("u1", cts["u1"]) == ["s"]
    assert await limited.decrypt("u2", cts["u2"]) == ["s"]
    assert await limited.decrypt("u1", cts["u1"]) == ["s"]  # already counted
    r = await limited.post("/api/v1/decrypt", {"userId": "u3", "data": cts["u3"]})
    assert_limited(r, "decrypt_users")


def _actor() -> Any:
    from strongroom.context import Actor

    return Actor("test", "default", "rid", None)


async def test_redis_shares_the_budget_between_replicas(tmp_path: Path, redis_server: Any) -> None:
    overrides = {**LIMITS, "redis_url": redis_server.url, "rate_limit_requests_per_minute": 4}
    a, sa = await make_app(tmp_path, "a", **overrides)
    b, sb = await make_app(tmp_path, "b", **overrides)
    try:
        b.admin_key = a.admin_key  # one principal, two replicas
        codes = [(await x.get("/api/v1/keys/nobody")).status_code for x in (a, b, a, b, a, b)]
        assert codes == [404, 404, 404, 404, 429, 429]
    finally:
        for app, svc in ((a, sa), (b, sb)):
            await app.client.aclose()
            await svc.close()


async def test_redis_down_falls_back_to_local_buckets(tmp_path: Path) -> None:
    overrides = {**LIMITS, "redis_url": "redis://127.0.0.1:1/0"}
    app, svc = await make_app(tmp_path, "down", **overrides)
    try:
        codes = [(await app.get("/api/v1/keys/nobody")).status_code for _ in range(6)]
        assert codes == [404] * 5 + [429]
    finally:
        await app.client.aclose()
        await svc.close()
