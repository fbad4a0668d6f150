"""Liveness and readiness: /readyz reports the database, the KMS and (when
configured) Redis; Redis being down is reported but does not make a replica unready."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import App


async def test_readyz_reports_each_dependency(app: App) -> None:
    r = await app.client.get("/readyz")
    assert r.status_code == 200
    assert r.json()["checks"]["database"] is True
    assert r.json()["checks"]["kms"] is True
    assert "redis" not in r.json()["checks"]
    assert (await app.client.get("/healthz")).json() == {"status": "ok"}


@pytest.mark.parametrize("settings_overrides", [{"redis_url": "redis://127.0.0.1:1/0"}])
async def test_redis_down_is_reported_but_still_ready(app: App, settings_overrides: Any) -> None:
    r = await app.client.get("/readyz")
    assert r.status_code == 200 and r.json()["checks"]["redis"] is False
    await app.create_key("ready")
    assert await app.decrypt("ready", await app.encrypt("ready", ["x"])) == ["x"]


async def test_database_down_makes_the_replica_unready(app: App) -> None:
    await app.services.db.dispose()
    app.services.db.engine.sync_engine.pool._creator = _refuse
    r = await app.client.get("/readyz")
    assert r.status_code == 503 and r.json()["checks"]["database"] is False


def _refuse(*_: Any) -> Any:
    raise ConnectionRefusedError("database down")
