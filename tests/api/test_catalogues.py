"""Every route checks a permission of the catalogue (access/permissions.py), and every
action the service records is one of the audit catalogue (audit/actions.py).

Driven through the app's own routes (tests/api/routes.py), so a new route or a
misspelt permission or action is caught without editing this file.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import select

from strongroom.access.permissions import Permission
from strongroom.audit.actions import AuthzAction, catalogue
from strongroom.store.models import AuditRecord
from tests.api.access_helpers import issue
from tests.api.conftest import App
from tests.api.routes import PUBLIC, Ctx, Route, api_routes, asgi_app, order, request_for


async def _context(app: App) -> Ctx:
    await app.create_key("cat-user")
    await app.create_key("cat-victim")
    [ciphertext] = await app.encrypt("cat-user", ["plain"])
    target = await issue(app, ["user"])
    return Ctx("cat-user", "cat-victim", ciphertext, target["id"])


async def _send(app: App, route: Route, ctx: Ctx, key: str, rid: str) -> int:
    url, body = request_for(route, ctx)
    kw: dict[str, Any] = {"headers": {"X-API-Key": key, "X-Request-Id": rid}}
    if body is not None:
        kw["json"] = body
    return (await app.client.request(route.method, url, **kw)).status_code


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_every_route_checks_a_catalogued_permission(app: App) -> None:
    ctx = await _context(app)
    # A key whose only grant matches no route: every route must refuse it, and the
    # refusal's record names the permission the route asked for.
    made = await app.client.put(
        "/api/v1/roles/no-route",
        json={"grants": [{"permission": "nothing:none"}]},
        headers=app.headers,
    )
    assert made.status_code == 201, made.text
    key = (await issue(app, ["no-route"]))["key"]
    asked: dict[Route, list[object]] = {}
    for route in api_routes(asgi_app(app)):
        if route.path in PUBLIC:
            continue
        rid = f"cat-{uuid.uuid4().hex[:12]}"
        status = await _send(app, route, ctx, key, rid)
        async with app.services.db.read() as s:
            q = select(AuditRecord.detail).where(
                AuditRecord.request_id == rid, AuditRecord.action == AuthzAction.DENIED
            )
            asked[route] = [(d or {}).get("permission") for d in (await s.execute(q)).scalars()]
        assert status in (403, 404), (route, status)
    catalogued = set(Permission)
    unchecked = [r for r, perms in asked.items() if not perms]
    assert not unchecked, f"routes that refused without checking a permission: {unchecked}"
    strays = {r: p for r, perms in asked.items() for p in perms if p not in catalogued}
    assert not strays, f"permissions outside access/permissions.py: {strays}"
    # The MCP tools (mcp/tools.py) ask the same guard for permissions of the same
    # catalogue: every tool but call_upstream (a proxy token is its authority).
    by_tools = await _mcp_permissions(app, key)
    assert not by_tools - catalogued
    # The catalogue holds no permission that nothing asks for (a stale entry).
    assert {p for perms in asked.values() for p in perms} | by_tools == catalogued


async def _mcp_permissions(app: App, key: str) -> set[object]:
    from mcp import Client

    from strongroom.mcp.ports import FixedCredentials
    from strongroom.mcp.tools import build_server
    from strongroom.mcp.wiring import mcp_ports

    ports = mcp_ports(app.services, app.settings)
    server = build_server(lambda: ports, FixedCredentials(ports.guard, api_key=key))
    async with Client(server) as client:
        for name, args in (
            ("list_keys", {}),
            ("check_request", {"request_id": "req_1"}),
            ("revoke_session", {"session_id": "ses_1"}),
        ):
            assert (await client.call_tool(name, args)).is_error
    async with app.services.db.read() as s:
        q = select(AuditRecord.detail).where(
            AuditRecord.request_id.startswith("mcp-"), AuditRecord.action == AuthzAction.DENIED
        )
        return {(d or {}).get("permission") for d in (await s.execute(q)).scalars()}


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_every_recorded_action_is_catalogued(app: App) -> None:
    ctx = await _context(app)
    narrow = (await issue(app, ["encrypt-only"]))["key"]
    await app.client.get("/api/v1/keys/cat-user", headers={"X-API-Key": narrow})  # denied
    await app.post("/api/v1/encrypt", {"userId": "cat-user"})  # invalid body: rejected
    await app.client.get("/api/v1/keys/x", headers={"X-API-Key": "srk_live_bogus"})
    for route in order(api_routes(asgi_app(app))):
        await _send(app, route, ctx, app.admin_key, f"flow-{uuid.uuid4().hex[:12]}")
    await app.services.alerts.drain()  # security events are recorded in the background
    async with app.services.db.read() as s:
        recorded = set((await s.execute(select(AuditRecord.action).distinct())).scalars())
    assert recorded - catalogue() == set()
    # The flow reached the main domains (so the check above is not vacuous).
    reached = {"key.encrypt", "access_key.revoke", "authz.denied", "api.rejected", "audit.open"}
    assert reached | {"security.key.deletion"} <= recorded
