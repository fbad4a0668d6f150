"""The fast lane (api/fastlane.py) answers the data endpoints exactly as FastAPI's own
stack does: same status, body, header names and audit records, for successes and for
every kind of refusal (issue #14, item 4: every security property stays)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from strongroom.api.app import create_app
from strongroom.api.fastlane import FastLane
from strongroom.store.models import AuditRecord
from tests.api.conftest import App
from tests.api.routes import asgi_app

BIG = {"userId": "lane-user", "data": ["x" * 70_000] * 200}


@pytest.fixture
async def slow(app: App) -> AsyncIterator[httpx.AsyncClient]:
    """The same services behind an app whose data endpoints take FastAPI's stack."""
    application = create_app(app.settings, app.services, fast_lane=False)
    transport = httpx.ASGITransport(app=application, client=("203.0.113.7", 4242))
    async with httpx.AsyncClient(transport=transport, base_url="http://strongroom") as client:
        yield client


def _cases(app: App, narrow: str, ciphertext: str) -> list[tuple[str, str, dict[str, Any]]]:
    key = {"X-API-Key": app.admin_key}
    tampered = ciphertext[:-4] + ("AAAA" if not ciphertext.endswith("AAAA") else "BBBB")
    return [
        (
            "encrypt ok",
            "/api/v1/encrypt",
            {"json": {"userId": "lane-user", "data": ["a"]}, "headers": key},
        ),
        (
            "decrypt ok",
            "/api/v1/decrypt",
            {"json": {"userId": "lane-user", "data": [ciphertext]}, "headers": key},
        ),
        (
            "blind index ok",
            "/api/v1/blind-index",
            {"json": {"userId": "lane-user", "field": "f", "data": ["a"]}, "headers": key},
        ),
        (
            "blind index bad option",
            "/api/v1/blind-index",
            {"json": {"field": "f", "data": ["a"], "normalize": ["soundex"]}, "headers": key},
        ),
        ("no key", "/api/v1/encrypt", {"json": {"userId": "lane-user", "data": ["a"]}}),
        (
            "forged key",
            "/api/v1/encrypt",
            {
                "json": {"userId": "lane-user", "data": ["a"]},
                "headers": {"X-API-Key": "srk_live_aaaaaaaaaaaaaaaa_bbbb"},
            },
        ),
        ("not json", "/api/v1/encrypt", {"content": b"{nope", "headers": key}),
        ("wrong type", "/api/v1/encrypt", {"json": {"userId": 7, "data": "a"}, "headers": key}),
        (
            "unknown user",
            "/api/v1/encrypt",
            {"json": {"userId": "nobody-here", "data": ["a"]}, "headers": key},
        ),
        (
            "not allowed",
            "/api/v1/decrypt",
            {
                "json": {"userId": "lane-user", "data": [ciphertext]},
                "headers": {"X-API-Key": narrow},
            },
        ),
        (
            "tampered",
            "/api/v1/decrypt",
            {"json": {"userId": "lane-user", "data": [tampered]}, "headers": key},
        ),
        ("too large", "/api/v1/encrypt", {"content": json.dumps(BIG).encode(), "headers": key}),
        (
            "rotate",
            "/api/v1/rotate",
            {"json": {"userId": "lane-user", "data": [ciphertext]}, "headers": key},
        ),
        (
            "rewrap",
            "/api/v1/rewrap",
            {"json": {"userId": "lane-user", "data": [ciphertext]}, "headers": key},
        ),
    ]


def _shape(r: httpx.Response) -> tuple[int, Any, set[str]]:
    body = r.json()
    body.pop("requestId", None)
    for field in ("encryptedData", "rotatedData", "rewrappedData"):
        if field in body:  # fresh ciphertexts differ run to run; their number does not
            body[field] = len(body[field])
    if "version" in body:
        body["version"] = "n"  # the rotate case bumps it on each side in turn
    varying = {"date", "content-length"}
    return r.status_code, body, {h for h in r.headers if h not in varying}


async def _records(app: App) -> int:
    async with app.services.db.read() as s:
        return int((await s.execute(select(func.count()).select_from(AuditRecord))).scalar_one())


async def test_the_data_endpoints_take_the_fast_lane(app: App) -> None:
    lane = asgi_app(app).front.app  # type: ignore[attr-defined]
    assert isinstance(lane, FastLane)
    data = {"/api/v1/encrypt", "/api/v1/decrypt", "/api/v1/rotate", "/api/v1/rewrap"}
    assert lane.paths == data | {"/api/v1/blind-index"}


async def test_fast_and_framework_answers_are_the_same(app: App, slow: httpx.AsyncClient) -> None:
    await app.create_key("lane-user")
    _, narrow = await app.services.access.create("default", ["encrypt-only"], "encrypt only")
    [ciphertext] = await app.encrypt("lane-user", ["lane plaintext"])
    for name, path, kwargs in _cases(app, narrow, ciphertext):
        before = await _records(app)
        fast = await app.client.post(path, **kwargs)
        middle = await _records(app)
        framework = await slow.post(path, **kwargs)
        after = await _records(app)
        assert _shape(fast) == _shape(framework), name
        assert middle - before == after - middle, name  # the same audit records
        assert fast.status_code < 500, name


async def test_repeated_and_foreign_headers_read_alike(app: App, slow: httpx.AsyncClient) -> None:
    """The lane reads the headers off the ASGI scope itself: a repeated header counts
    by its first value, as Starlette's ``Headers.get`` has it, and a tenant another
    principal names is refused alike."""
    await app.create_key("lane-user")
    body = {"userId": "lane-user", "data": ["a"]}
    forged = "srk_live_aaaaaaaaaaaaaaaa_bbbb"
    cases = {
        "good key first": [("X-API-Key", app.admin_key), ("X-API-Key", forged)],
        "forged key first": [("X-API-Key", forged), ("X-API-Key", app.admin_key)],
        "other tenant": [("X-API-Key", app.admin_key), ("X-Tenant-Id", "elsewhere")],
        "bearer and key": [("Authorization", "Basic abc"), ("X-API-Key", app.admin_key)],
    }
    for name, headers in cases.items():
        fast = await app.client.post("/api/v1/encrypt", json=body, headers=headers)
        framework = await slow.post("/api/v1/encrypt", json=body, headers=headers)
        assert _shape(fast) == _shape(framework), name
    first = await app.client.post("/api/v1/encrypt", json=body, headers=cases["good key first"])
    assert first.status_code == 200
    second = await app.client.post("/api/v1/encrypt", json=body, headers=cases["forged key first"])
    assert second.status_code == 401
