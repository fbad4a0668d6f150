"""Key policy (min_decryption_version, rotation period) and scheduled rotation."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

import httpx

from tests.api.conftest import App


async def patch(app: App, user: str, body: Mapping[str, object]) -> httpx.Response:
    return await app.client.patch(f"/api/v1/keys/{user}/policy", json=body, headers=app.headers)


async def test_min_decryption_version(app: App) -> None:
    await app.create_key("p")
    v1 = await app.encrypt("p", ["old"])
    await app.post("/api/v1/rotate", {"userId": "p", "data": []})
    v2 = await app.encrypt("p", ["new"])
    r = await patch(app, "p", {"minDecryptionVersion": 2})
    assert r.status_code == 200 and r.json()["minDecryptionVersion"] == 2
    r2 = await app.post("/api/v1/decrypt", {"userId": "p", "data": v1})
    assert r2.status_code == 400 and r2.json()["error"]["code"] == "ENC001"
    assert await app.decrypt("p", v2) == ["new"]
    for bad in (
        {"minDecryptionVersion": 3},
        {"minDecryptionVersion": 0},
        {"rotationPeriodDays": 0},
        {"unknown": 1},
    ):
        r = await patch(app, "p", bad)
        assert r.status_code == 400, bad


async def test_scheduled_rotation(app: App) -> None:
    await app.create_key("s")
    r = await patch(app, "s", {"rotationPeriodDays": 30})
    assert r.json()["rotationPeriodDays"] == 30
    lifecycle = app.services.lifecycle
    now = app.services.keys.core.clock()
    assert await lifecycle.rotate_due(now + timedelta(days=29)) == 0
    assert await lifecycle.rotate_due(now + timedelta(days=31)) == 1
    history = (await app.get("/api/v1/keys/s/history")).json()["history"]
    assert (history[-1]["version"], history[-1]["reason"]) == (2, "scheduled")
    assert history[-1]["actor"] == "system:scheduler"
    # The next due date moved on: no second rotation in the same pass window.
    assert await lifecycle.rotate_due(now + timedelta(days=31)) == 0
