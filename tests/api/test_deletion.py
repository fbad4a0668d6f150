"""Crypto-shredding: disable at once, cancelable, then material gone for good."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import select

from strongroom.store.models import KeyMaterial, KeyTombstone
from tests.api.conftest import App


def code(r: httpx.Response) -> tuple[int, str]:
    return r.status_code, r.json()["error"]["code"]


async def test_schedule_cancel_destroy(app: App) -> None:
    await app.create_key("del")
    enc = await app.encrypt("del", ["to be shredded"])
    async with app.services.db.read() as s:
        blobs = [m.wrapped for m in (await s.execute(select(KeyMaterial))).scalars()]
    assert blobs

    r = await app.post("/api/v1/keys/del/deletion", {})
    assert r.status_code == 202 and r.json()["state"] == "pending_deletion"
    deletion_date = r.json()["deletionDate"]
    assert deletion_date is not None
    for path, data in (("/api/v1/encrypt", ["x"]), ("/api/v1/decrypt", enc)):
        assert code(await app.post(path, {"userId": "del", "data": data})) == (409, "KEY005")

    r = await app.client.delete("/api/v1/keys/del/deletion", headers=app.headers)
    assert r.status_code == 200 and r.json()["state"] == "enabled"
    assert await app.decrypt("del", enc) == ["to be shredded"]

    # Default waiting period applies: nothing is destroyed before it ends.
    r = await app.post("/api/v1/keys/del/deletion", {})
    lifecycle = app.services.lifecycle
    assert await lifecycle.destroy_due() == 0
    clock = app.services.keys.core.clock
    assert await lifecycle.destroy_due(clock() + timedelta(days=7, seconds=1)) == 1

    r = await app.post("/api/v1/decrypt", {"userId": "del", "data": enc})
    assert code(r) == (410, "KEY004")
    assert "destroyed" in r.json()["error"]["message"]
    assert code(await app.post("/api/v1/encrypt", {"userId": "del", "data": ["x"]})) == (
        410,
        "KEY004",
    )
    meta = (await app.get("/api/v1/keys/del")).json()
    assert meta["state"] == "destroyed"
    assert all(v["state"] == "destroyed" for v in meta["versions"])
    history = (await app.get("/api/v1/keys/del/history")).json()["history"]
    assert [h["event"] for h in history][-1] == "destroyed"

    async with app.services.db.read() as s:
        assert (await s.execute(select(KeyMaterial))).scalars().all() == []
        tomb = (await s.execute(select(KeyTombstone))).scalars().one()
        assert (tomb.user_id, tomb.versions) == ("del", [1])
    if app.db_path is not None:  # the wrapped bytes are gone from the SQLite files
        for db_file in app.db_path.parent.glob("strongroom.db*"):
            content = db_file.read_bytes()
            assert not any(b in content for b in blobs), db_file

    # Encrypting again needs a new key, which continues the version numbers.
    meta = await app.create_key("del")
    assert meta["currentVersion"] == 2 and meta["state"] == "enabled"
    fresh = await app.encrypt("del", ["new life"])
    assert fresh[0].startswith("sr:v2:")
    assert await app.decrypt("del", fresh) == ["new life"]
    assert code(await app.post("/api/v1/decrypt", {"userId": "del", "data": enc})) == (
        410,
        "KEY004",
    )


async def test_zero_waiting_period_and_bounds(app: App) -> None:
    await app.create_key("now")
    r = await app.post("/api/v1/keys/now/deletion", {"waitingPeriodDays": 400})
    assert r.status_code == 400
    r = await app.post("/api/v1/keys/now/deletion", {"waitingPeriodDays": 0})
    assert r.status_code == 202
    assert await app.services.lifecycle.destroy_due() == 1
    assert await app.services.lifecycle.destroy_due() == 0  # idempotent
    r = await app.client.delete("/api/v1/keys/now/deletion", headers=app.headers)
    assert code(r) == (400, "KEY006")
