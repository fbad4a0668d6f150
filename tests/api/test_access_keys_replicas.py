"""Access keys across replicas: two app instances on one database (SQLite file and
PostgreSQL). Revocation reaches the other replica within the key cache TTL, a
rotated key works at once everywhere, and "last used" is buffered and written in
batches (no write per request, at most one per key per flush)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from strongroom.api.app import create_app
from strongroom.services.container import build_services
from strongroom.store.models import AccessKey
from tests.api.access_helpers import BASE, issue, poll, statements, works
from tests.api.conftest import App, make_settings

TTL = 0.5


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"access_key_cache_ttl_seconds": TTL, "access_key_usage_flush_seconds": 3600}


@pytest.fixture
async def other(
    app: App, database_url: str, tmp_path: Path, settings_overrides: dict[str, Any]
) -> AsyncIterator[App]:
    """A second replica: its own services and caches, the same database and master key."""
    settings = make_settings(database_url, tmp_path, **settings_overrides)
    services = build_services(settings)
    await services.start()
    transport = httpx.ASGITransport(app=create_app(settings, services), client=("198.51.100.9", 1))
    async with httpx.AsyncClient(transport=transport, base_url="http://replica-b") as client:
        yield App(client, services, settings, app.admin_key, app.db_path)
    await services.close()


async def test_revocation_reaches_the_other_replica_within_the_ttl(app: App, other: App) -> None:
    made = await issue(app, ["encrypt-only"])
    assert await works(other, made["key"])  # replica B now caches the row
    r = await app.post(f"{BASE}/{made['id']}/revoke", None)
    assert r.status_code == 200
    revoked_at = time.monotonic()
    assert not await works(app, made["key"])  # at once where it was revoked
    refused = await poll(lambda: works(other, made["key"]), lambda ok: not ok, seconds=TTL + 3)
    assert not refused
    # The documented bound (cache TTL), with slack for a slow test machine.
    assert time.monotonic() - revoked_at < TTL + 3


async def test_rotated_key_works_at_once_on_the_other_replica(app: App, other: App) -> None:
    made = await issue(app, ["encrypt-only"])
    assert await works(other, made["key"])  # cached with the old secret
    r = await app.post(f"{BASE}/{made['id']}/rotate", {"graceSeconds": 3600})
    new = r.json()["key"]
    assert await works(other, new)  # no wait for the cache to expire
    assert await works(other, made["key"])  # grace


async def test_last_used_is_buffered_and_flushed_once_per_key(app: App, other: App) -> None:
    one = await issue(app, ["encrypt-only"])
    two = await issue(app, ["encrypt-only"])
    with statements(app) as seen:
        for _ in range(5):
            for key in (one["key"], two["key"], app.admin_key):
                assert await works(app, key)
    assert not [s for s in seen if s.lstrip().upper().startswith("UPDATE")]  # none per request

    shown = (await app.get(f"{BASE}/{one['id']}")).json()  # this replica's buffer
    assert shown["lastUsedAt"] and shown["lastUsedAddr"] == "203.0.113.7"
    assert (await other.get(f"{BASE}/{one['id']}")).json()["lastUsedAt"] is None  # not yet

    with statements(app) as seen:
        written = await app.services.access.usage.flush()
    updates = [s for s in seen if "UPDATE access_keys" in s]
    assert written == 3  # one row per key (executemany), however many uses
    assert len(updates) <= 1  # one executemany statement for the whole batch
    assert await app.services.access.usage.flush() == 0

    from_b = (await other.get(f"{BASE}/{one['id']}")).json()
    assert from_b["lastUsedAt"] == shown["lastUsedAt"]
    assert from_b["lastUsedAddr"] == "203.0.113.7"

    # A later use on replica B wins; an older flush from A does not move it back.
    assert await works(other, one["key"])
    await other.services.access.usage.flush()
    async with app.services.db.read() as s:
        row = await s.get(AccessKey, one["id"])
    assert row is not None and row.last_used_addr == "198.51.100.9"
    assert row.last_used_at is not None
    app.services.access.usage._pending[one["id"]] = (row.last_used_at.replace(year=2000), "x")
    await app.services.access.usage.flush()
    async with app.services.db.read() as s:
        again = await s.get(AccessKey, one["id"])
    assert again is not None and again.last_used_addr == "198.51.100.9"
