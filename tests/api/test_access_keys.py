"""Access-key lifecycle over the API: create (shown once), list, show, rotate with a
grace period, revoke, expiry, tenant isolation, no privilege escalation, audit, and
no secret in any listing, audit record or log line. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update

from strongroom.access import tokens
from strongroom.store.models import AccessKey
from tests.api.access_helpers import (
    BASE,
    audit_rows,
    call,
    error_code,
    issue,
    poll,
    statements,
    works,
)
from tests.api.conftest import App

FIELDS = {
    "id", "tenant", "roles", "description", "state", "createdAt", "createdBy", "expiresAt",
    "revokedAt", "rotatedAt", "previousKeyValidUntil", "lastUsedAt", "lastUsedAddr",
}  # fmt: skip


async def test_create_show_list(app: App) -> None:
    expires = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    r = await app.post(
        BASE, {"roles": ["encrypt-only"], "description": "ingest job", "expiresAt": expires}
    )
    assert r.status_code == 201 and r.headers["cache-control"] == "no-store"
    made = r.json()
    assert set(made) == FIELDS | {"key"}
    parsed = tokens.parse(made["key"])
    assert parsed is not None and parsed.key_id == made["id"]
    admin = tokens.parse(app.admin_key)
    assert admin is not None
    admin_id = admin.key_id
    assert made["createdBy"] == admin_id and made["state"] == "active"
    assert made["tenant"] == "default" and made["roles"] == ["encrypt-only"]
    assert await works(app, made["key"])

    shown = (await app.get(f"{BASE}/{made['id']}")).json()
    assert set(shown) == FIELDS and shown["description"] == "ingest job"
    assert datetime.fromisoformat(shown["expiresAt"]) == datetime.fromisoformat(expires)
    listed = (await app.get(BASE)).json()
    assert made["id"] in {k["id"] for k in listed["accessKeys"]}
    assert all(set(k) == FIELDS for k in listed["accessKeys"])

    rows = [r for r in await audit_rows(app, "access_key.") if r.target == made["id"]]
    assert [(r.action, r.outcome, r.actor) for r in rows] == [
        ("access_key.create", "success", admin_id)
    ]
    detail = dict(rows[0].detail or {})
    # The description is free text: only its keyed HMAC (docs/audit-format.md).
    hmacs = detail.pop("hmac")
    assert isinstance(hmacs, dict) and hmacs["description"].startswith("hmac:")
    assert detail == {"roles": ["encrypt-only"], "expires": True}


@pytest.mark.parametrize(
    "body",
    [
        {"roles": []},
        {"roles": ["no-such-role"]},
        {"roles": ["admin"], "expiresAt": "2001-01-01T00:00:00Z"},
        {"roles": ["admin"], "expiresAt": "2099-01-01T00:00:00"},  # no offset
        {"roles": ["admin"], "secret": "mine"},
        {"roles": ["admin"], "description": "x" * 501},
    ],
)
async def test_create_rejects_bad_input(app: App, body: dict[str, Any]) -> None:
    r = await app.post(BASE, body)
    assert r.status_code == 400 and error_code(r) == "ENC001", r.text


async def test_list_pages_and_tenant_filter(app: App) -> None:
    _, root = await app.services.access.create("default", ["super-admin"], "operator")
    ids = {(await issue(app, ["user"]))["id"] for _ in range(4)}
    in_b = await issue(app, ["user"], key=root, tenant="b")
    seen: list[str] = []
    cursor: str | None = None
    while True:
        q = f"?limit=2&cursor={cursor}" if cursor else "?limit=2"
        page = (await app.get(BASE + q)).json()
        assert len(page["accessKeys"]) <= 2
        seen += [k["id"] for k in page["accessKeys"]]
        cursor = page["nextCursor"]
        if cursor is None:
            break
    assert seen == sorted(seen) and len(seen) == len(set(seen))
    assert ids <= set(seen) and in_b["id"] not in seen  # admin of "default" only
    everything = (await call(app, root, params={"limit": 500})).json()["accessKeys"]
    assert {in_b["id"], *ids} <= {k["id"] for k in everything}
    only_b = (await call(app, root, params={"tenant": "b"})).json()["accessKeys"]
    assert [k["id"] for k in only_b] == [in_b["id"]]
    assert (await app.get(BASE + "?cursor=NOT-AN-ID")).status_code == 400


async def test_rotate_grace_then_old_key_stops(app: App) -> None:
    made = await issue(app, ["encrypt-only"])
    old = made["key"]
    r = await app.post(f"{BASE}/{made['id']}/rotate", {"graceSeconds": 3600})
    assert r.status_code == 200, r.text
    rotated = r.json()
    new = rotated["key"]
    assert rotated["id"] == made["id"] and new != old and rotated["rotatedAt"]
    assert rotated["previousKeyValidUntil"] is not None
    assert await works(app, new) and await works(app, old)  # both inside the grace

    # Rotating again with a short grace: the first key stops at once (one previous key
    # is kept), the second works until its grace ends, the newest throughout.
    r = await app.post(f"{BASE}/{made['id']}/rotate", {"graceSeconds": 0.5})
    newest = r.json()["key"]
    assert not await works(app, old)
    assert await works(app, newest) and await works(app, new)
    assert not await poll(lambda: works(app, new), lambda ok: not ok, seconds=5)
    assert await works(app, newest)

    fails = [r for r in await audit_rows(app, "auth.api_key") if r.actor == made["id"]]
    reasons = [(r.detail or {})["reason"] for r in fails]
    # The first key is no longer known at all; the second is refused as past its grace.
    assert reasons[0] == "mismatch" and set(reasons[1:]) == {"past-grace"}
    alarms = await audit_rows(app, "security.auth.revoked_credential")
    assert made["id"] in {a.target for a in alarms}
    rot = [r for r in await audit_rows(app, "access_key.rotate") if r.target == made["id"]]
    assert [r.detail for r in rot] == [{"grace_seconds": 3600}, {"grace_seconds": 0.5}]


async def test_rotate_default_grace_is_configured(app: App) -> None:
    made = await issue(app, ["user"])
    r = await app.post(f"{BASE}/{made['id']}/rotate", None)
    until = datetime.fromisoformat(r.json()["previousKeyValidUntil"])
    expected = datetime.now(UTC) + timedelta(seconds=86400)
    assert abs((until - expected).total_seconds()) < 60
    assert (await app.post(f"{BASE}/{made['id']}/rotate", {"graceSeconds": -1})).status_code == 400


async def test_revoke(app: App) -> None:
    made = await issue(app, ["encrypt-only"])
    assert await works(app, made["key"])  # now cached by this replica
    rotated = (await app.post(f"{BASE}/{made['id']}/rotate", {"graceSeconds": 3600})).json()
    r = await app.post(f"{BASE}/{made['id']}/revoke", None)
    assert r.status_code == 200 and r.json()["state"] == "revoked" and r.json()["revokedAt"]
    assert not await works(app, made["key"]) and not await works(app, rotated["key"])
    again = await app.post(f"{BASE}/{made['id']}/revoke", None)
    assert again.status_code == 200 and again.json()["revokedAt"] == r.json()["revokedAt"]
    rot = await app.post(f"{BASE}/{made['id']}/rotate", None)
    assert rot.status_code == 409 and error_code(rot) == "ACC001"

    records = [r for r in await audit_rows(app) if made["id"] in (r.target, r.actor)]
    actions = [(r.action, r.outcome) for r in records]
    assert actions.count(("access_key.revoke", "success")) == 1
    refusals = {(r.detail or {})["reason"] for r in records if r.action == "auth.api_key"}
    assert refusals == {"revoked"}
    assert ("security.auth.revoked_credential", "success") in actions
    assert (await app.get(f"{BASE}/{made['id']}")).json()["state"] == "revoked"


async def test_expired_key_is_refused_and_reported(app: App) -> None:
    soon = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    made = await issue(app, ["encrypt-only"], expiresAt=soon)
    assert await works(app, made["key"])
    async with app.services.db.transaction() as s:  # an hour passes
        past = datetime.now(UTC) - timedelta(seconds=1)
        await s.execute(update(AccessKey).where(AccessKey.id == made["id"]).values(expires_at=past))
    app.services.access.forget(made["id"])
    r = await app.client.get("/api/v1/keys/x", headers={"X-API-Key": made["key"]})
    assert r.status_code == 401 and error_code(r) == "AUTH001"
    records = [r for r in await audit_rows(app) if made["id"] in (r.target, r.actor)]
    failure = next(r for r in records if r.action == "auth.api_key")
    assert failure.detail == {"reason": "expired"} and failure.tenant_id == "default"
    assert "security.auth.revoked_credential" in {r.action for r in records}
    assert (await app.get(f"{BASE}/{made['id']}")).json()["state"] == "expired"


async def test_typo_is_refused_without_a_database_lookup(app: App) -> None:
    made = await issue(app, ["encrypt-only"])
    key = made["key"]
    typo = key[:20] + ("a" if key[20] != "a" else "b") + key[21:]
    with statements(app) as seen:
        r = await app.client.get("/api/v1/keys/x", headers={"X-API-Key": typo})
    assert r.status_code == 401 and error_code(r) == "AUTH001"
    assert not [sql for sql in seen if "access_keys" in sql]
    with statements(app) as seen:  # a well-formed key is looked up (the check is real)
        forged = tokens.generate("live")[0]
        assert (await app.client.get("/", headers={"X-API-Key": forged})).status_code == 404
        assert not await works(app, forged)
    assert [sql for sql in seen if "access_keys" in sql]


async def test_tenant_admin_sees_and_changes_only_its_tenant(app: App) -> None:
    _, root = await app.services.access.create("default", ["super-admin"], "operator")
    in_b = await issue(app, ["encrypt-only"], key=root, tenant="b")
    _, admin_a = await app.services.access.create("a", ["client-admin"], "tenant a admin")
    in_a = await issue(app, ["encrypt-only"], key=admin_a)
    assert in_a["tenant"] == "a"

    other = await call(app, admin_a, path=f"{BASE}/{in_b['id']}")
    missing = await call(app, admin_a, path=f"{BASE}/{'a' * 16}")
    assert other.status_code == missing.status_code == 404
    assert {**other.json(), "requestId": None} == {**missing.json(), "requestId": None}
    for action in ("rotate", "revoke"):
        r = await call(app, admin_a, "POST", f"{BASE}/{in_b['id']}/{action}")
        assert r.status_code == 404, (action, r.text)
    assert await works(app, in_b["key"])  # untouched
    listed = (await call(app, admin_a)).json()["accessKeys"]
    assert {k["tenant"] for k in listed} == {"a"}
    assert (await call(app, admin_a, params={"tenant": "b"})).status_code == 404
    r = await call(app, admin_a, "POST", BASE, json={"roles": ["user"], "tenant": "b"})
    assert r.status_code == 404
    r = await call(app, admin_a, headers={"X-Tenant-Id": "b"})
    assert r.status_code == 404
    # The operator reaches tenant b's key by id.
    assert (await call(app, root, path=f"{BASE}/{in_b['id']}")).status_code == 200


async def test_no_one_hands_out_or_takes_over_a_stronger_key(app: App) -> None:
    _, integ = await app.services.access.create("default", ["integration-admin"], "integ")
    _, client = await app.services.access.create("default", ["client-admin"], "client")
    for who, roles in ((integ, ["admin"]), (integ, ["decrypt-only"]), (client, ["super-admin"])):
        r = await call(app, who, "POST", BASE, json={"roles": roles})
        assert r.status_code == 403 and error_code(r) == "AUTH002", (roles, r.text)
    assert (
        await call(app, integ, "POST", BASE, json={"roles": ["encrypt-only"]})
    ).status_code == 201
    admin = tokens.parse(app.admin_key)
    assert admin is not None
    admin_id = admin.key_id
    for action in ("rotate", "revoke"):
        r = await call(app, integ, "POST", f"{BASE}/{admin_id}/{action}")
        assert r.status_code == 403, (action, r.text)
    assert await works(app, app.admin_key)
    denied = [r for r in await audit_rows(app, "access_key.") if r.outcome == "denied"]
    assert {r.action for r in denied} == {
        "access_key.create",
        "access_key.rotate",
        "access_key.revoke",
    }


# role -> access-key routes it may call (403 otherwise)
ROLE_ROUTES = {
    "super-admin": {"create", "list", "rotate", "revoke"},
    "client-admin": {"create", "list", "rotate", "revoke"},
    "admin": {"create", "list", "rotate", "revoke"},
    "integration-admin": {"create", "list", "rotate", "revoke"},
    "company-admin": {"list"},
    "key-admin": set(),
    "encrypt-only": set(),
    "decrypt-only": set(),
    "auditor": set(),
    "user": set(),
}


@pytest.mark.parametrize("backend", ["sqlite"])
@pytest.mark.parametrize("role", sorted(ROLE_ROUTES))
async def test_role_table(app: App, role: str) -> None:
    _, key = await app.services.access.create("default", [role], role)
    routes = {
        "create": ("POST", BASE, {"roles": [role]}),
        "list": ("GET", BASE, None),
        "rotate": ("POST", f"{BASE}/{'a' * 16}/rotate", None),  # allowed: 404
        "revoke": ("POST", f"{BASE}/{'a' * 16}/revoke", None),
    }
    allowed = set()
    for name, (method, path, body) in routes.items():
        r = await call(app, key, method, path, json=body)
        assert r.status_code in (200, 201, 403, 404), (name, r.text)
        if r.status_code != 403:
            allowed.add(name)
    assert allowed == ROLE_ROUTES[role]


CANARY = "CANARY-desc-93c1"


async def test_secrets_never_in_listings_audit_or_logs(
    app: App, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    made = await issue(app, ["encrypt-only"], description=CANARY)
    rotated = (await app.post(f"{BASE}/{made['id']}/rotate", {"graceSeconds": 60})).json()
    keys = [made["key"], rotated["key"]]
    for key in keys:
        assert await works(app, key)
        assert not await works(app, key[:-1] + ("a" if key[-1] != "a" else "b"))
    await app.post(f"{BASE}/{made['id']}/revoke", None)
    assert not await works(app, keys[0])
    await app.services.access.usage.flush()
    texts = [
        (await app.get(BASE)).text,
        (await app.get(f"{BASE}/{made['id']}")).text,
        (await app.post(f"{BASE}/{made['id']}/revoke", None)).text,
    ]
    out, err = capfd.readouterr()
    logs = out + err + caplog.text
    audit = repr([(r.actor, r.target, r.detail, r.action) for r in await audit_rows(app)])
    secrets = [k for key in keys for k in (key, key.split("_")[3])]
    for where, content in (("responses", "".join(texts)), ("audit", audit), ("logs", logs)):
        for secret in secrets:
            assert secret not in content, (where, secret[:12])
    assert CANARY in texts[1] and CANARY not in audit  # free text stays out of the trail
