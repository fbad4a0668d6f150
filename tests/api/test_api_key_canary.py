"""A stored key's value appears 0 times in logs, the audit trail, error bodies,
metrics, list and get responses, and the database itself (sealed: neither the SQLite
file with its WAL nor any row on either backend holds it), through create, rotate,
reveal, refused requests and revoke."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from sqlalchemy import select

from strongroom.store.models import ApiKey, ApiKeyValue, AuditRecord
from tests.api.api_key_helpers import PROJECTS, keys_url, project, req, stored
from tests.api.conftest import App
from tests.api.secret_helpers import key_with_grants

VALUES = ("sk-CANARY-first-5c1e77a2", "sk-CANARY-second-90bd13f4")


async def _rows(app: App, models: tuple[type[Any], ...]) -> str:
    parts: list[str] = []
    async with app.services.db.read() as s:
        for model in models:
            for row in (await s.execute(select(model))).scalars():
                for column in model.__table__.columns:
                    value = getattr(row, column.key)
                    parts.append(value.hex() if isinstance(value, bytes) else repr(value))
    return "\n".join(parts)


async def test_the_value_is_nowhere(
    app: App, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    first, second = VALUES
    await project(app, "p")
    bodies = [str(await stored(app, "p", "k", first, hosts=["api.example.com"]))]
    url = keys_url("p", "k")
    calls: list[tuple[str, str, dict[str, Any] | None]] = [
        ("GET", url, None),
        ("GET", keys_url("p"), None),
        ("GET", PROJECTS, None),
        ("POST", keys_url("p"), {"name": "k", "value": first}),  # 409: exists
        ("POST", keys_url("p"), {"name": "bad", "value": first + " x"}),  # 400
        ("POST", keys_url("p"), {"name": "k2", "value": first, "hosts": ["*.com"]}),
        ("PATCH", url, {"version": 9, "tags": {"a": "b"}}),  # 409
        ("POST", url + "/rotate", {"value": second}),
        ("POST", url + "/rotate", {"value": second + "\n"}),  # 400
        ("GET", url + "/usable", None),
        ("POST", url + "/reveal", None),  # 403 for "*"
    ]
    for method, u, body in calls:
        r = await req(app, method, u, json=body) if body else await req(app, method, u)
        bodies.append(r.text)
    revealer = await key_with_grants(app, "rev", [{"permission": "api-keys:reveal"}])
    revealed = await req(app, "POST", url + "/reveal", revealer)
    assert revealed.json()["value"] == second  # the one place a value may appear
    await req(app, "POST", url + "/revoke")
    bodies.append((await req(app, "GET", url)).text)
    metrics = (await req(app, "GET", "/metrics")).text
    out, err = capfd.readouterr()
    logs = out + err + "\n".join(caplog.handler.format(r) for r in caplog.records)
    places = {
        "responses": "\n".join(bodies),
        "logs": logs,
        "metrics": metrics,
        "audit": await _rows(app, (AuditRecord,)),
        "rows": await _rows(app, (ApiKey, ApiKeyValue)),
    }
    for value in VALUES:
        hits = [where for where, text in places.items() if value in text]
        assert hits == [], (value, hits)
    if app.db_path is not None:
        raw = b"".join(
            p.read_bytes()
            for p in (app.db_path, app.db_path.with_name("strongroom.db-wal"))
            if p.exists()
        )
        for value in VALUES:
            assert value.encode() not in raw
