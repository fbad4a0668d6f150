"""Custom roles over HTTP: create, replace, use, delete; no escalation; tenant-local;
every change audited."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from strongroom.access.lifecycle import SYSTEM
from strongroom.access.roles import parse_grants
from strongroom.context import Actor
from strongroom.errors import RoleExists
from strongroom.store.models import AuditRecord
from tests.api.access_helpers import call, issue
from tests.api.conftest import App

ROLES = "/api/v1/roles"


def grants(*perms: str, scope: str = "tenant") -> dict[str, Any]:
    return {"grants": [{"permission": p, "scope": scope} for p in perms]}


async def put(app: App, name: str, body: dict[str, Any], key: str | None = None) -> Any:
    return await call(app, key or app.admin_key, "PUT", f"{ROLES}/{name}", json=body)


async def test_create_use_replace_delete(app: App) -> None:
    r = await put(app, "reader", grants("keys:read", "keys:encrypt"))
    assert r.status_code == 201, r.text
    assert {g["permission"] for g in r.json()["grants"]} == {"keys:read", "keys:encrypt"}
    listed = (await app.get(ROLES)).json()["roles"]
    assert {"admin", "reader"} <= {x["name"] for x in listed}
    assert next(x for x in listed if x["name"] == "reader")["builtin"] is False

    key = (await issue(app, ["reader"]))["key"]
    await app.create_key("alice")
    ct = await app.post("/api/v1/encrypt", {"userId": "alice", "data": ["s"]}, key=key)
    assert ct.status_code == 200, ct.text
    dec = {"userId": "alice", "data": ct.json()["encryptedData"]}
    assert (await app.post("/api/v1/decrypt", dec, key=key)).status_code == 403

    r = await put(app, "reader", grants("keys:read", "keys:encrypt", "keys:decrypt"))
    assert r.status_code == 200
    assert (await app.post("/api/v1/decrypt", dec, key=key)).status_code == 200

    assert (await call(app, app.admin_key, "DELETE", f"{ROLES}/reader")).status_code == 204
    assert (await app.get(f"{ROLES}/reader")).status_code == 404
    # Holders lose the grants (this replica at once; others within the cache TTL).
    assert (
        await app.post("/api/v1/encrypt", {"userId": "alice", "data": ["s"]}, key=key)
    ).status_code == 403

    async with app.services.db.read() as s:
        actions = (
            (await s.execute(select(AuditRecord.action).where(AuditRecord.target == "reader")))
            .scalars()
            .all()
        )
    assert {"role.create", "role.update", "role.delete"} <= set(actions)


async def test_bad_roles_are_refused(app: App) -> None:
    for name, body in (
        ("wide", grants("keys:read", scope="all")),
        ("bad-pattern", grants("keys:read; drop")),
        ("admin", grants("keys:read")),
        ("Upper", grants("keys:read")),
        ("empty", {"grants": []}),
    ):
        r = await put(app, name, body)
        assert r.status_code == 400, (name, r.text)
        assert r.json()["error"]["code"] == "ENC001"
    assert (await call(app, app.admin_key, "DELETE", f"{ROLES}/admin")).status_code == 400


async def test_no_escalation_through_roles(app: App) -> None:
    assert (await put(app, "role-writer", grants("roles:write", "keys:encrypt"))).status_code == 201
    writer = (await issue(app, ["role-writer"]))["key"]
    assert (await put(app, "sneaky", grants("keys:decrypt"), key=writer)).status_code == 403
    assert (await put(app, "modest", grants("keys:encrypt"), key=writer)).status_code == 201
    narrow = (await issue(app, ["encrypt-only"]))["key"]
    assert (await put(app, "x", grants("keys:encrypt"), key=narrow)).status_code == 403
    assert (await call(app, narrow, "GET", ROLES)).status_code == 403


async def test_custom_roles_are_tenant_local(app: App) -> None:
    assert (await put(app, "reader", grants("keys:read"))).status_code == 201
    body = {"roles": ["reader"], "tenant": "acme"}
    # A tenant admin cannot act in acme at all (and learns nothing of its roles).
    r = await app.post("/api/v1/access-keys", body)
    assert r.status_code == 404 and "roles" not in r.text
    _, root = await app.services.access.create("default", ["super-admin"], "root")
    r = await app.post("/api/v1/access-keys", body, key=root)
    assert r.status_code == 400 and "reader" not in r.json()["error"]["details"]["roles"]


async def test_role_conflicts_have_role_codes(app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    """ROLE001 / ROLE002, not the key codes KEY003 / KEY002 they answered with before."""
    roles = app.services.access.roles
    actor = Actor("system:cli", "default", "rid-role-conflict", None)
    read = parse_grants([("keys:read", "tenant", None)])
    await roles.put(actor, SYSTEM, "once", read, "", create_only=True)
    with pytest.raises(RoleExists) as exists:
        await roles.put(actor, SYSTEM, "once", read, "", create_only=True)
    assert (exists.value.code, exists.value.status) == ("ROLE001", 409)

    async def lost_race(*_: Any) -> Any:  # another request inserted the name first
        raise IntegrityError("INSERT", None, Exception("unique"))

    monkeypatch.setattr(roles, "_store", lost_race)
    r = await put(app, "raced", grants("keys:read"))
    assert r.status_code == 409 and r.json()["error"]["code"] == "ROLE002"
