"""The vault's audit records: every action names its path as the target, and where
the operator marks ``secretPath`` sensitive, only as a keyed tag (a lookup by the
path still finds them)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.access_helpers import audit_rows
from tests.api.conftest import App
from tests.api.secret_helpers import call, get, key_with_grants, put

P = "customers/ana-lopez/ssn"


async def _drive(app: App) -> None:
    await put(app, P, {"v": "1"})
    await put(app, P, {"v": "2"}, options={"cas": 0})  # refused: failure record
    await get(app, P)
    await call(app, "GET", f"/metadata/{P}")
    await call(app, "POST", f"/delete/{P}", json={"versions": [1]})
    key = await key_with_grants(
        app, "nothing-here", [{"permission": "secrets:read", "resource": "x"}]
    )
    await get(app, P, key=key)  # denied


async def test_every_action_names_the_path(app: App) -> None:
    await _drive(app)
    rows = [r for r in await audit_rows(app) if r.target == P]
    seen = {(r.action, r.outcome) for r in rows}
    assert {
        ("secret.write", "success"),
        ("secret.write", "failure"),
        ("secret.read", "success"),
        ("secret.delete", "success"),
        ("authz.denied", "denied"),
    } <= seen
    assert any((r.detail or {}).get("metadata") for r in rows if r.action == "secret.read")


@pytest.mark.parametrize("settings_overrides", [{"audit_sensitive_identifiers": ["secretPath"]}])
async def test_a_sensitive_path_is_only_a_keyed_tag(app: App, settings_overrides: Any) -> None:
    await _drive(app)
    rows = await audit_rows(app)
    assert not [r for r in rows if r.target == P or P in repr(r.detail)]
    tagged = [r for r in rows if (r.target or "").startswith("hmac:")]
    assert {r.action for r in tagged} >= {"secret.write", "secret.read", "authz.denied"}
    r = await app.client.get("/api/v1/audit/lookup", params={"value": P}, headers=app.headers)
    found = r.json()["records"]
    assert len(found) == len(tagged)
