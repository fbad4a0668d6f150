"""The vault's read in the fast lane (api/fastlane_secrets.py) answers exactly as
FastAPI's own stack does: same status, body, header names and audit records, for a
read and for every kind of refusal; what the lane does not take (a query, a path the
route refuses) goes to FastAPI."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from strongroom.api.app import create_app
from strongroom.api.fastlane import FastLane
from strongroom.api.fastlane_secrets import takes
from strongroom.store.models import AuditRecord
from tests.api.conftest import App
from tests.api.routes import asgi_app
from tests.api.secret_helpers import call, key_with_grants, put

BASE = "/api/v1/secrets/data/"


@pytest.fixture
async def slow(app: App) -> AsyncIterator[httpx.AsyncClient]:
    application = create_app(app.settings, app.services, fast_lane=False)
    transport = httpx.ASGITransport(app=application, client=("203.0.113.7", 4242))
    async with httpx.AsyncClient(transport=transport, base_url="http://strongroom") as client:
        yield client


def _shape(r: httpx.Response) -> tuple[int, Any, set[str]]:
    body = r.json()
    if isinstance(body, dict):
        body.pop("requestId", None)
        if isinstance(body.get("error"), dict):
            body["error"].pop("requestId", None)
    varying = {"date", "content-length"}
    return r.status_code, body, {h for h in r.headers if h not in varying}


async def _records(app: App) -> int:
    async with app.services.db.read() as s:
        return int((await s.execute(select(func.count()).select_from(AuditRecord))).scalar_one())


async def test_the_current_read_takes_the_lane(app: App) -> None:
    lane = asgi_app(app).front.app  # type: ignore[attr-defined]
    assert isinstance(lane, FastLane) and lane.secret_route is not None

    def scope(path: str, query: bytes = b"", method: str = "GET") -> dict[str, Any]:
        return {"method": method, "path": path, "query_string": query, "root_path": ""}

    assert takes(scope(BASE + "apps/billing/stripe"))
    assert not takes(scope(BASE + "apps/billing/stripe", b"version=1"))
    assert not takes(scope(BASE + "apps/billing/stripe", method="PUT"))
    assert not takes(scope(BASE + "apps//stripe"))
    assert not takes(scope(BASE + "a" * 513))
    assert not takes(scope("/api/v1/secrets/metadata/apps/billing/stripe"))


async def test_fast_and_framework_answers_are_the_same(app: App, slow: httpx.AsyncClient) -> None:
    await put(app, "apps/billing/stripe", {"apiKey": "sk_live_lane", "n": 1.5e20, "u": "é"})
    await put(app, "apps/billing/old", {"k": "v"})
    await call(app, "POST", "/delete/apps/billing/old", json={"versions": [1]})
    await put(app, "apps/shop/db", {"k": "v"})
    narrow = await key_with_grants(
        app, "billing-reader", [{"permission": "secrets:read", "resource": "apps/billing/*"}]
    )
    admin = {"X-API-Key": app.admin_key}
    cases: dict[str, tuple[str, dict[str, str]]] = {
        "read": ("apps/billing/stripe", admin),
        "read by a path grant": ("apps/billing/stripe", {"X-API-Key": narrow}),
        "outside the grant": ("apps/shop/db", {"X-API-Key": narrow}),
        "no key": ("apps/billing/stripe", {}),
        "forged key": ("apps/billing/stripe", {"X-API-Key": "srk_live_aaaaaaaaaaaaaaaa_bbbb"}),
        "other tenant": ("apps/billing/stripe", {**admin, "X-Tenant-Id": "elsewhere"}),
        "missing": ("apps/billing/none", admin),
        "deleted": ("apps/billing/old", admin),
        "bad path": ("apps/../etc", admin),
        "with a query": ("apps/billing/stripe?version=1", admin),
        "bad query": ("apps/billing/stripe?version=x", admin),
    }
    for name, (path, headers) in cases.items():
        before = await _records(app)
        fast = await app.client.get(BASE + path, headers=headers)
        middle = await _records(app)
        framework = await slow.get(BASE + path, headers=headers)
        after = await _records(app)
        assert _shape(fast) == _shape(framework), name
        assert fast.content == framework.content or name != "read", name
        assert middle - before == after - middle, name
        assert fast.status_code < 500, name
