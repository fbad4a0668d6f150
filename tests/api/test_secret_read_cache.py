"""The vault's read cache (secrets/core.py ``reads``, docs/caching.md): a change made
through this worker is read back at once; one made elsewhere (here: raw SQL, as
another worker's commit looks to this one) is seen within ``read_cache_ttl_seconds``;
with a TTL of 0 every read goes to the database."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import text

from tests.api.conftest import App
from tests.api.secret_helpers import call, get, put

PATH = "apps/billing/stripe"


async def _delete_elsewhere(app: App) -> None:
    async with app.services.db.transaction() as s:
        await s.execute(
            text("UPDATE secret_versions SET deleted_at = :t"), {"t": datetime.now(UTC)}
        )


async def test_changes_made_here_are_read_back_at_once(app: App) -> None:
    await put(app, PATH, {"k": "v1"})
    assert (await get(app, PATH)).json()["data"] == {"k": "v1"}  # now cached
    await put(app, PATH, {"k": "v2"})
    assert (await get(app, PATH)).json()["data"] == {"k": "v2"}
    meta = {"customMetadata": {"a": "b"}}
    assert (await call(app, "PATCH", f"/metadata/{PATH}", json=meta)).status_code == 200
    assert (await get(app, PATH)).json()["customMetadata"] == {"a": "b"}
    assert (await call(app, "POST", f"/delete/{PATH}", json={"versions": [2]})).status_code == 200
    assert (await get(app, PATH)).status_code == 404
    assert (await call(app, "POST", f"/undelete/{PATH}", json={"versions": [2]})).status_code == 200
    assert (await get(app, PATH)).json()["data"] == {"k": "v2"}
    assert (await get(app, PATH, version=1)).json()["data"] == {"k": "v1"}
    destroyed = await call(app, "POST", f"/destroy/{PATH}", json={"versions": [1]})
    assert destroyed.status_code == 200
    assert (await get(app, PATH, version=1)).status_code == 404
    pending = await put(app, PATH, {"k": "v3"}, label="pending")
    assert pending.status_code == 200, pending.text
    assert (await get(app, PATH)).json()["data"] == {"k": "v2"}
    assert (await call(app, "POST", f"/promote/{PATH}", json={})).status_code == 200
    assert (await get(app, PATH)).json()["data"] == {"k": "v3"}
    assert (await call(app, "DELETE", f"/metadata/{PATH}")).status_code == 204
    assert (await get(app, PATH)).status_code == 404


async def test_a_change_elsewhere_is_seen_within_the_ttl(app: App) -> None:
    reads = app.services.vault.core.reads
    assert reads.ttl == 1.0  # the default
    now = [1000.0]
    reads.clock = lambda: now[0]
    await put(app, PATH, {"k": "v1"})
    assert (await get(app, PATH)).status_code == 200  # loaded at t=1000
    await _delete_elsewhere(app)
    now[0] += 0.5
    assert (await get(app, PATH)).status_code == 200  # inside the window
    now[0] += 0.6  # past the TTL counted from the load's start
    assert (await get(app, PATH)).status_code == 404


class TestWithoutTheCache:
    @pytest.fixture
    def settings_overrides(self) -> dict[str, Any]:
        return {"secrets_read_cache_ttl_seconds": 0}

    async def test_every_read_goes_to_the_database(self, app: App) -> None:
        await put(app, PATH, {"k": "v1"})
        assert (await get(app, PATH)).status_code == 200
        await _delete_elsewhere(app)
        assert (await get(app, PATH)).status_code == 404
