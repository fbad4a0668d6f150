"""The MCP approvals REST routes through the ASGI stack: an admin registers and
approves a tool, an agent (role ``mcp-agent``) asks, an approver (``mcp-approver``)
decides; the server refuses self-approval, replayed digests and other principals'
objects with stable codes, and bad input with a 4xx, never a 500."""

from __future__ import annotations

from typing import Any

import httpx

from strongroom.approvals.digest import schema_sha256
from strongroom.context import Actor
from tests.api.access_helpers import issue
from tests.api.approvals_helpers import SCHEMA, SCHEMA_SHA, Facts, policy, wire
from tests.api.conftest import App

MCP = "/api/v1/mcp"


async def _as(app: App, key: str, method: str, path: str, body: Any = None) -> httpx.Response:
    kw: dict[str, Any] = {"headers": {"X-API-Key": key}}
    if body is not None:
        kw["json"] = body
    return await app.client.request(method, MCP + path, **kw)


def _code(r: httpx.Response) -> tuple[int, str]:
    return r.status_code, r.json()["error"]["code"]


async def _tool(app: App) -> dict[str, Any]:
    r = await _as(
        app,
        app.admin_key,
        "POST",
        "/tools",
        {
            "name": "fetcher",
            "clientId": "client-1",
            "inputSchema": SCHEMA,
            "hosts": ["api.example.com", "*.example.org"],
            "methods": ["GET", "POST"],
            "tier": "standard",
            "annotations": {"readOnlyHint": True},
        },
    )
    assert r.status_code == 201, r.text
    tool = dict(r.json())
    assert (tool["schemaSha256"], tool["status"]) == (SCHEMA_SHA, "pending")
    r = await _as(app, app.admin_key, "POST", f"/tools/{tool['id']}/approve", {})
    assert r.json()["status"] == "approved"
    return tool


def _ask(key: str = "stripe", **over: Any) -> dict[str, Any]:
    body = {
        "tool": {"name": "fetcher", "clientId": "client-1", "schemaSha256": SCHEMA_SHA},
        "project": "payments",
        "key": key,
        "hosts": ["api.example.com"],
        "methods": ["GET"],
        "durationSeconds": 300,
        "purpose": "read invoices",
    }
    return {**body, **over}


async def test_register_ask_approve_and_revoke(app: App) -> None:
    approvals, _ = wire(app, Facts({"prod": "high"}))
    await policy(approvals)
    tool = await _tool(app)
    agent = (await issue(app, ["mcp-agent"]))["key"]
    other_agent = (await issue(app, ["mcp-agent"]))["key"]
    approver = (await issue(app, ["mcp-approver"]))["key"]
    listed = (await _as(app, agent, "GET", "/tools")).json()
    assert [t["name"] for t in listed["tools"]] == ["fetcher"]
    assert (await _as(app, agent, "POST", f"/tools/{tool['id']}/suspend")).status_code == 403
    low = await _as(app, agent, "POST", "/requests", _ask())
    assert low.status_code == 201, low.text
    assert low.json()["status"] == "approved"
    high = (await _as(app, agent, "POST", "/requests", _ask("prod", methods=["POST"]))).json()
    assert high["status"] == "pending" and high["approvalUrl"].endswith(high["id"])
    assert sum(f["points"] for f in high["factors"]) == high["score"]
    # The agent sees its own requests only; the approver sees the tenant's pending.
    assert (await _as(app, other_agent, "GET", f"/requests/{high['id']}")).status_code == 404
    assert (await _as(app, agent, "GET", f"/requests/{high['id']}")).status_code == 200
    pending = (await _as(app, approver, "GET", "/requests")).json()["requests"]
    assert [p["id"] for p in pending] == [high["id"]]
    assert (await _as(app, other_agent, "GET", "/requests")).json()["requests"] == []
    # The agent cannot approve (no permission); an approver cannot approve its own.
    body = {"digest": high["digest"]}
    assert (
        await _as(app, agent, "POST", f"/requests/{high['id']}/approve", body)
    ).status_code == 403
    own = (await _as(app, approver, "POST", "/requests", _ask())).status_code
    assert own == 403  # mcp-approver does not ask
    wider = (
        await _as(
            app, agent, "POST", "/requests", _ask("prod", hosts=["a.example.org"], methods=["POST"])
        )
    ).json()
    replay = await _as(app, approver, "POST", f"/requests/{wider['id']}/approve", body)
    assert _code(replay) == (409, "APR008")
    done = await _as(app, approver, "POST", f"/requests/{high['id']}/approve", body)
    assert done.json()["status"] == "approved", done.text
    again = await _as(app, approver, "POST", f"/requests/{high['id']}/approve", body)
    assert _code(again) == (409, "APR006")
    no_reason = await _as(
        app, approver, "POST", f"/requests/{wider['id']}/deny", {"digest": wider["digest"]}
    )
    assert _code(no_reason) == (400, "ENC001")
    denied = await _as(
        app,
        approver,
        "POST",
        f"/requests/{wider['id']}/deny",
        {"digest": wider["digest"], "reason": "no"},
    )
    assert denied.json()["status"] == "denied"
    # A session of the agent: another agent cannot revoke it, the agent and approvers can.
    requester = high["requester"]
    actor = Actor(requester, "default", "rid-open", None)
    opened = await approvals.sessions.open(actor, high["id"])
    path = f"/sessions/{opened.session_id}/revoke"
    assert _code(await _as(app, other_agent, "POST", path)) == (404, "APR011")
    assert (await _as(app, agent, "POST", path)).json() == {
        "sessionId": opened.session_id,
        "revoked": True,
    }
    assert (await _as(app, approver, "POST", path)).status_code == 200  # idempotent


async def test_self_approval_and_tool_refusals(app: App) -> None:
    approvals, _ = wire(app, Facts({"prod": "high"}))
    await policy(approvals)
    tool = await _tool(app)
    # The admin holds every permission and still cannot approve its own request.
    mine = (await _as(app, app.admin_key, "POST", "/requests", _ask("prod"))).json()
    r = await _as(
        app, app.admin_key, "POST", f"/requests/{mine['id']}/approve", {"digest": mine["digest"]}
    )
    assert _code(r) == (403, "APR007")
    unregistered = _ask(tool={"name": "nobody", "clientId": "c", "schemaSha256": SCHEMA_SHA})
    assert _code(await _as(app, app.admin_key, "POST", "/requests", unregistered)) == (
        403,
        "APR001",
    )
    changed = {"type": "object", "properties": {"url": {"type": "string"}, "x": {}}}
    swapped = _ask(
        tool={"name": "fetcher", "clientId": "client-1", "schemaSha256": schema_sha256(changed)}
    )
    assert _code(await _as(app, app.admin_key, "POST", "/requests", swapped)) == (403, "APR002")
    shown = (await _as(app, app.admin_key, "GET", f"/tools/{tool['id']}")).json()
    assert (shown["status"], shown["statusReason"]) == ("suspended", "schema-changed")
    # Suspended until re-approved: even the pinned schema is refused meanwhile.
    r = await _as(app, app.admin_key, "POST", "/requests", _ask())
    assert _code(r) == (403, "APR003") and r.json()["error"]["details"] == {"status": "suspended"}
    assert _code(await _as(app, app.admin_key, "GET", "/tools/999")) == (404, "APR017")
    missing = f"/requests/{'0' * 32}"
    assert _code(await _as(app, app.admin_key, "GET", missing)) == (404, "APR005")
    dup = await _as(
        app,
        app.admin_key,
        "POST",
        "/tools",
        {
            "name": "fetcher",
            "clientId": "client-1",
            "schemaSha256": SCHEMA_SHA,
            "hosts": ["a.b"],
            "methods": ["GET"],
        },
    )
    assert _code(dup) == (409, "APR018")


async def test_bad_input_is_4xx_and_changes_nothing(app: App) -> None:
    approvals, _ = wire(app)
    await policy(approvals)
    await _tool(app)
    bad: list[tuple[str, str, Any]] = [
        ("POST", "/tools", {"name": "t", "clientId": "c", "hosts": ["a.b"], "methods": ["GET"]}),
        (
            "POST",
            "/tools",
            {
                "name": "t",
                "clientId": "c",
                "schemaSha256": "zz",
                "hosts": ["a.b"],
                "methods": ["GET"],
            },
        ),
        (
            "POST",
            "/tools",
            {
                "name": "t",
                "clientId": "c",
                "schemaSha256": "a" * 64,
                "hosts": ["not a host"],
                "methods": ["GET"],
            },
        ),
        (
            "POST",
            "/tools",
            {
                "name": "t",
                "clientId": "c",
                "schemaSha256": "a" * 64,
                "hosts": ["a.b"],
                "methods": ["TRACE"],
            },
        ),
        ("POST", "/requests", _ask(durationSeconds=59)),
        ("POST", "/requests", _ask(durationSeconds=7200)),  # beyond the policy's 1 h
        ("POST", "/requests", _ask(hosts=["*.example.org"])),  # a request names hosts
        ("POST", "/requests", _ask(purpose="")),
        ("POST", "/requests", _ask(purpose="a\x00b")),  # PostgreSQL stores no NUL
        ("POST", "/requests", _ask(key="k\x00")),
        ("POST", "/requests", _ask(extra=1)),
        ("GET", "/requests/not-an-id", None),
        ("GET", "/tools/0", None),
        ("GET", "/tools?limit=0", None),
        ("POST", f"/requests/{'0' * 32}/approve", {"digest": "xyz"}),
    ]
    for method, path, body in bad:
        r = await _as(app, app.admin_key, method, path, body)
        assert 400 <= r.status_code < 500, (path, r.status_code, r.text)
        assert r.json()["error"]["code"] in {"ENC001", "REQ004"}, (path, r.text)
    tools = (await _as(app, app.admin_key, "GET", "/tools")).json()["tools"]
    assert [t["name"] for t in tools] == ["fetcher"]
    assert (await approvals.requests.list_pending("default", 10, None))[0] == []


async def test_the_stored_key_directory_informs_the_score(app: App) -> None:
    """Wired as served: the key's sensitivity comes from the stored-key directory
    (services/approvals_facts.py); a key that does not exist is refused, not scored."""
    approvals = app.services.approvals
    await policy(approvals)
    await _tool(app)
    made = await app.post("/api/v1/projects", {"name": "payments"})
    assert made.status_code == 201, made.text
    for name, sensitivity in (("stripe", "low"), ("prod", "high")):
        body = {"name": name, "value": "sk_canary_" + name, "hosts": ["api.example.com"]}
        r = await app.post(
            "/api/v1/projects/payments/api-keys", {**body, "sensitivity": sensitivity}
        )
        assert r.status_code == 201, r.text
    points = {}
    for name in ("stripe", "prod"):
        r = await _as(app, app.admin_key, "POST", "/requests", _ask(name))
        assert r.status_code == 201, r.text
        points[name] = {f["name"]: f["points"] for f in r.json()["factors"]}["key_sensitivity"]
    assert points == {"stripe": 0, "prod": 30}
    missing = await _as(app, app.admin_key, "POST", "/requests", _ask("nope"))
    assert missing.status_code == 404 and missing.json()["error"]["code"].startswith("APK")
    assert "sk_canary" not in missing.text
