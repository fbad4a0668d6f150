"""What is recorded (every route, every authentication outcome), HMAC'd sensitive
values with lookup, and the auditors' filtered, paginated record queries."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from strongroom.store.models import AuditRecord
from tests.api.access_helpers import issue
from tests.api.conftest import App
from tests.api.routes import MUTATING, PUBLIC, Ctx, api_routes, asgi_app, order, request_for

RECORDS = "/api/v1/audit/records"


async def rows(app: App, **where: Any) -> list[AuditRecord]:
    q = select(AuditRecord).order_by(AuditRecord.id)
    for column, value in where.items():
        q = q.where(getattr(AuditRecord, column) == value)
    async with app.services.db.read() as s:
        return list((await s.execute(q)).scalars())


async def context(app: App) -> Ctx:
    await app.create_key("rt-user")
    await app.create_key("rt-victim")
    enc = await app.encrypt("rt-user", ["hello"])
    made = await issue(app, ["user"])
    return Ctx("rt-user", "rt-victim", enc[0], made["id"])


async def send(app: App, method: str, url: str, body: Any, key: str, rid: str) -> Any:
    headers = {"X-API-Key": key, "X-Request-Id": rid}
    if body is None:
        return await app.client.request(method, url, headers=headers)
    return await app.client.request(method, url, json=body, headers=headers)


async def test_every_mutating_route_writes_a_record(app: App) -> None:
    ctx = await context(app)
    routes = order([r for r in api_routes(asgi_app(app)) if r.method in MUTATING])
    assert len(routes) >= 10
    for i, route in enumerate(routes):
        url, body = request_for(route, ctx)
        rid = f"mut-{i}"
        r = await send(app, route.method, url, body, app.admin_key, rid)
        written = await rows(app, request_id=rid)
        assert written, (route, r.status_code, "no audit record")
        if r.status_code < 400:
            assert any(w.outcome == "success" for w in written), route
        else:  # e.g. an issuer this test did not configure: still on the record
            assert any(w.outcome in ("failure", "denied") for w in written), route


# One refused credential per route from one address: more than the default
# unauthenticated budget (60/min) now that there are this many routes.
@pytest.mark.parametrize("settings_overrides", [{"rate_limit_unauthenticated_per_minute": 1000}])
async def test_every_authentication_outcome_is_recorded(app: App) -> None:
    """Success (all, not sampled), a bad key, and a principal without the permission:
    every authenticated route leaves a record with the request's id each time."""
    ctx = await context(app)
    weak = (await issue(app, ["decrypt-only"]))["key"]
    routes = [r for r in api_routes(asgi_app(app)) if r.path not in PUBLIC]
    for i, route in enumerate(order(routes)):
        url, body = request_for(route, ctx)
        r = await send(app, route.method, url, body, app.admin_key[:-2] + "zz", f"bad-{i}")
        assert r.status_code == 401, route
        # A burst of failures also raises a security event carrying the triggering
        # request's id (written asynchronously): only the request's own record counts.
        got = [w for w in await rows(app, request_id=f"bad-{i}") if w.action.startswith("auth.")]
        assert [w.outcome for w in got] == ["failure"], [(w.action, w.outcome) for w in got]
        r = await send(app, route.method, url, body, weak, f"weak-{i}")
        outcomes = {w.outcome for w in await rows(app, request_id=f"weak-{i}")}
        assert outcomes, (route, r.status_code)
        if r.status_code in (403, 404):
            assert "denied" in outcomes or "failure" in outcomes, route
        if route.method not in MUTATING:
            r = await send(app, route.method, url, body, app.admin_key, f"ok-{i}")
            got = await rows(app, request_id=f"ok-{i}")
            assert got and got[0].actor != "anonymous", (route, r.status_code)


async def test_validation_failure_after_authentication_is_recorded(app: App) -> None:
    r = await send(app, "PATCH", "/api/v1/keys/u/policy", {"nope": 1}, app.admin_key, "inv-1")
    assert r.status_code == 400
    [rec] = await rows(app, request_id="inv-1")
    assert rec.detail is not None
    assert (rec.action, rec.outcome, rec.detail["code"]) == ("api.rejected", "failure", "ENC001")


@pytest.mark.parametrize("settings_overrides", [{"audit_sensitive_identifiers": ["userId"]}])
async def test_sensitive_user_ids_are_stored_as_hmacs(app: App) -> None:
    user = "alice@example.com"
    await app.create_key(user)
    await app.decrypt(user, await app.encrypt(user, ["x"]))
    await app.get(f"/api/v1/keys/{user}")
    every = await rows(app)
    assert all(user not in repr(_columns(r)) for r in every)
    tagged = [r for r in every if r.target and r.target.startswith("hmac:")]
    assert {r.action for r in tagged} >= {"key.create", "key.encrypt", "key.decrypt", "api.read"}
    r = await app.client.get(RECORDS, params={"target": user}, headers=app.headers)
    found = r.json()["records"]
    assert {x["action"] for x in found} >= {"key.create", "key.encrypt", "key.decrypt"}
    assert all(x["target"] == tagged[0].target for x in found)
    r = await app.client.get("/api/v1/audit/lookup", params={"value": user}, headers=app.headers)
    assert {x["id"] for x in r.json()["records"]} >= {x["id"] for x in found}
    r = await app.client.get("/api/v1/audit/lookup", params={"value": "bob"}, headers=app.headers)
    assert [x["action"] for x in r.json()["records"]] == []


async def test_free_text_is_an_hmac_that_lookup_finds(app: App) -> None:
    words = "rotate this before the Q3 audit, ask Dana"
    made = await issue(app, ["user"], description=words)
    assert all(words not in repr(_columns(r)) for r in await rows(app))
    [rec] = await rows(app, action="access_key.create", target=made["id"])
    hmacs = rec.detail["hmac"] if rec.detail else None
    assert isinstance(hmacs, dict) and hmacs["description"].startswith("hmac:")
    r = await app.client.get("/api/v1/audit/lookup", params={"value": words}, headers=app.headers)
    assert [x["id"] for x in r.json()["records"]] == [rec.id]
    # An identifier stored in clear is found too.
    r = await app.client.get(
        "/api/v1/audit/lookup", params={"value": made["id"]}, headers=app.headers
    )
    assert rec.id in {x["id"] for x in r.json()["records"]}


async def test_filters_and_cursor_pagination(app: App) -> None:
    for u in ("fa", "fb", "fc"):
        await app.create_key(u)
        await app.encrypt(u, ["1", "2"])
    await app.post("/api/v1/decrypt", {"userId": "fa", "data": ["junk"]})  # failure
    every = await rows(app)

    async def query(**params: Any) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        cursor = None
        while True:
            p = {**params, "limit": 2, **({"cursor": cursor} if cursor else {})}
            r = await app.client.get(RECORDS, params=p, headers=app.headers)
            assert r.status_code == 200, r.text
            out += r.json()["records"]
            cursor = r.json()["nextCursor"]
            if cursor is None:
                return out

    enc = await query(action="key.encrypt")
    assert [x["target"] for x in enc] == ["fa", "fb", "fc"]
    assert {x["action"] for x in await query(action="key.*")} >= {"key.create", "key.encrypt"}
    [failed] = await query(outcome="failure", action="key.decrypt")
    assert failed["target"] == "fa" and failed["detail"]["code"] == "ENC001"
    assert [x["target"] for x in await query(target="fb", action="key.create")] == ["fb"]
    mine = await query(actor=enc[0]["actor"], action="key.create")
    assert len(mine) == 3
    middle = enc[1]["ts"]
    assert [x["target"] for x in await query(action="key.encrypt", **{"from": middle})] == [
        "fb",
        "fc",
    ]
    assert [x["target"] for x in await query(action="key.encrypt", to=middle)] == ["fa", "fb"]
    # The calendar's edges, whose UTC falls outside it (once a 500): everything / nothing.
    edges = {"from": "0001-01-01T00:00:00+01:00", "to": "9999-12-31T23:59:59-01:00"}
    assert len(await query(action="key.encrypt", **edges)) == 3
    assert await query(action="key.encrypt", to="0001-01-01T00:00:00+01:00") == []
    # Pages neither skip nor repeat: all tenant records, in write order.
    ids = [x["id"] for x in await query()]
    assert ids == sorted(set(ids))
    assert set(ids) >= {r.id for r in every if r.tenant_id == "default"}


async def test_tenant_bound_auditor_sees_only_its_tenant(app: App) -> None:
    r = await app.client.get(RECORDS, params={"tenant": "acme"}, headers=app.headers)
    assert r.status_code == 404
    r = await app.client.get(RECORDS, params={"cursor": "x1"}, headers=app.headers)
    assert r.status_code == 400


def _columns(r: AuditRecord) -> tuple[Any, ...]:
    return (r.actor, r.target, r.detail, r.client_addr, r.request_id, r.tenant_id, r.action)
