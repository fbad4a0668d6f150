"""Revoke and block across replicas: two app instances on one database (SQLite file
and PostgreSQL). Replica B has the key in its state cache (it just used it); A blocks
or revokes it; B refuses it within 1 s (the bound is ``API_KEYS_STATE_CACHE_SECONDS``,
0.25 s by default, plus one read). The delay measured is printed."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from strongroom.api.app import create_app
from strongroom.services.container import build_services
from tests.api.api_key_helpers import keys_url, project, req, stored
from tests.api.conftest import App, make_settings

BOUND = 1.0


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


async def _refused_after(app: App, other: App, action: str, want: int) -> float:
    await project(app, "p")
    await stored(app, "p", "k", "sk-replica-value-1")
    url = keys_url("p", "k")
    # Keep B's cache warm right up to the change (the worst case for staleness).
    for _ in range(20):
        assert (await req(other, "GET", url + "/usable")).status_code == 200
    r = await req(app, "POST", url + action, json={"reason": "replica test"})
    assert r.status_code == 200, r.text
    done = time.monotonic()
    assert (await req(app, "GET", url + "/usable")).status_code == want  # at once on A
    while True:
        status = (await req(other, "GET", url + "/usable")).status_code
        delay = time.monotonic() - done
        if status == want:
            return delay
        assert status == 200 and delay < BOUND + 2, (status, delay)


@pytest.mark.parametrize(("action", "want"), [("/block", 423), ("/revoke", 409)])
async def test_the_other_replica_refuses_within_a_second(
    app: App, other: App, action: str, want: int, backend: str
) -> None:
    delay = await _refused_after(app, other, action, want)
    print(f"\n{backend} {action}: replica B refused after {delay * 1000:.0f} ms")
    assert delay < BOUND, delay


async def test_the_directory_block_reaches_the_other_replica(app: App, other: App) -> None:
    await project(app, "p")
    made = await stored(app, "p", "k", "sk-replica-value-2")
    url = keys_url("p", "k")
    assert (await req(other, "GET", url + "/usable")).status_code == 200
    await app.services.key_directory.block("default", made["id"], "anomaly: burst")
    done = time.monotonic()
    while (await req(other, "GET", url + "/usable")).status_code != 423:
        assert time.monotonic() - done < BOUND
