"""The whole flow with real parts, driven by the SDK's own MCP client in process: the
approvals domain (tool registry, risk score, human approval, sessions and proxy
tokens), the stored keys and the broker calling a real echo upstream on 127.0.0.1.
An admin stores a canary key and registers the tool over REST; the agent asks over
MCP (low risk: approved at once; high risk: pending until a second principal approves
over REST), calls upstream with the proxy token, and revokes. The canary never comes
back, and the upstream never sees a proxy token."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from mcp import Client
from mcp.types import CallToolResult
from sqlalchemy import select

from strongroom.context import Actor
from strongroom.mcp.ports import FixedCredentials
from strongroom.mcp.tools import build_server
from strongroom.mcp.wiring import mcp_ports
from strongroom.store.models import AuditRecord
from tests.api.conftest import App
from tests.api.mcp_doubles import CANARY, Echo, echo_server

SCHEMA = "c" * 64


@pytest.fixture
def echo() -> Iterator[Echo]:
    yield from echo_server()


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    # A freshly approved tool counts as new for a day by default (never auto-approved);
    # the threshold leaves room for the key-sensitivity fact whether or not the stored
    # keys' KeyFacts are wired yet (unknown counts as high: 30 points).
    return {"approvals_new_tool_seconds": 0, "approvals_threshold": 60}


def data(r: CallToolResult) -> dict[str, Any]:
    assert not r.is_error, r.content
    assert isinstance(r.structured_content, dict)
    return r.structured_content


def code(r: CallToolResult) -> str:
    assert r.is_error and isinstance(r.structured_content, dict), r.content
    return str(r.structured_content["error"]["code"])


async def _setup(app: App, echo: Echo) -> tuple[str, str]:
    r = await app.post("/api/v1/projects", {"name": "search", "description": "e2e"})
    assert r.status_code == 201, r.text
    key = {
        "name": "openai-prod",
        "value": CANARY,
        "provider": "openai",
        "hosts": [echo.host],
        "allowedNetworks": ["127.0.0.0/8"],
        "sensitivity": "low",
        "tags": {"team": "search"},
    }
    r = await app.post("/api/v1/projects/search/api-keys", key)
    assert r.status_code == 201, r.text
    tool = {
        "name": "search-agent",
        "clientId": "e2e-client",
        "schemaSha256": SCHEMA,
        "hosts": [echo.host],
        "methods": ["GET", "POST"],
    }
    r = await app.post("/api/v1/mcp/tools", tool)
    assert r.status_code == 201, r.text
    r = await app.post(f"/api/v1/mcp/tools/{r.json()['id']}/approve", {})
    assert r.status_code == 200, r.text
    _, agent = await app.services.access.create("default", ["mcp-agent"], "agent")
    _, approver = await app.services.access.create("default", ["mcp-approver"], "approver")
    return agent, approver


def ask(echo: Echo, **extra: Any) -> dict[str, Any]:
    return {
        "tool": "search-agent",
        "client_id": "e2e-client",
        "tool_schema_sha256": SCHEMA,
        "project": "search",
        "key": "openai-prod",
        "hosts": [echo.host],
        "methods": ["GET"],
        "duration_seconds": 300,
        "purpose": "look up prices",
        **extra,
    }


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
async def test_end_to_end_with_real_parts(app: App, echo: Echo) -> None:
    agent, approver = await _setup(app, echo)
    ports = mcp_ports(app.services, app.settings)
    server = build_server(lambda: ports, FixedCredentials(ports.guard, api_key=agent))
    seen: list[str] = []
    async with Client(server) as c:
        listed = data(await c.call_tool("list_keys", {}))
        assert [(k["project"], k["name"]) for k in listed["keys"]] == [("search", "openai-prod")]
        low = data(await c.call_tool("request_access", ask(echo)))
        seen.append(json.dumps(low))
        assert low["status"] == "approved", low
        token, sid = low["session"]["proxy_token"], low["session"]["session_id"]
        # The session is bound to the MCP server's own resource (its tokens' audience).
        system = Actor("system:test", "default", "e2e", None)
        view = await app.services.approvals.sessions.get(system, sid, own_only=False)
        assert view.audience == app.settings.mcp.resource_url
        call = {
            "session_id": sid,
            "proxy_token": token,
            "method": "GET",
            "url": f"http://{echo.netloc}/v1/models",
        }
        answer = data(await c.call_tool("call_upstream", call))
        seen.append(json.dumps(answer))
        assert answer["status"] == 200
        # High risk (writes, longer than the cap): a human approves it over REST.
        high = data(
            await c.call_tool("request_access", ask(echo, methods=["POST"], duration_seconds=1800))
        )
        assert high["status"] == "pending", high
        rid = high["request_id"]
        # The approvals page on the service's public origin (the setting is relative).
        assert high["approval_url"] == f"http://127.0.0.1:8080/approvals/{rid}"
        got = await app.client.get(f"/api/v1/mcp/requests/{rid}", headers={"X-API-Key": approver})
        digest = got.json()["digest"]
        own = await app.post(f"/api/v1/mcp/requests/{rid}/approve", {"digest": digest}, agent)
        assert own.status_code == 403  # never one's own request
        ok = await app.post(f"/api/v1/mcp/requests/{rid}/approve", {"digest": digest}, approver)
        assert ok.status_code == 200, ok.text
        opened = data(await c.call_tool("check_request", {"request_id": rid}))
        seen.append(json.dumps(opened))
        s2 = opened["session"]
        post = {
            "session_id": s2["session_id"],
            "proxy_token": s2["proxy_token"],
            "method": "POST",
            "url": f"http://{echo.netloc}/v1/chat",
            "body": '{"q": "hi"}',
        }
        seen.append(json.dumps(data(await c.call_tool("call_upstream", post))))
        data(await c.call_tool("revoke_session", {"session_id": sid}))
        assert code(await c.call_tool("call_upstream", call)).startswith("APR")
    # Another principal's credentials with the live session's token: refused.
    other = build_server(lambda: ports, FixedCredentials(ports.guard, api_key=approver))
    async with Client(other) as c:
        assert code(await c.call_tool("call_upstream", post)) == "APR012"
    assert len(echo.captured) == 2
    assert all(h["headers"]["Authorization"] == f"Bearer {CANARY}" for h in echo.captured)
    assert "srp_" not in json.dumps(echo.captured)
    assert not [s for s in seen if CANARY in s]
    async with app.services.db.read() as s:
        rows = list((await s.execute(select(AuditRecord))).scalars())
    assert rows and not [r for r in rows if CANARY in repr(r.__dict__)]
    actions = {r.action for r in rows}
    assert {"mcp.request.create", "mcp.request.score"} <= actions
