"""The MCP tools driven by the SDK's own client in process, on the real guard, access
keys, audit trail and database (SQLite and PostgreSQL); the approvals domain, the key
directory and the broker are the doubles of tests/api/mcp_doubles.py, calling a real
echo upstream on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from mcp import Client
from mcp.types import CallToolResult

from strongroom.mcp.ports import FixedCredentials
from strongroom.mcp.tools import build_server
from tests.api.access_helpers import audit_rows
from tests.api.conftest import App
from tests.api.mcp_doubles import CANARY, Doubles, Echo, doubles, echo_server, ports

SCHEMA = "a" * 64


@pytest.fixture
def echo() -> Iterator[Echo]:
    yield from echo_server()


@dataclass
class Env:
    app: App
    d: Doubles
    echo: Echo
    agent_key: str
    other_key: str

    def client(self, key: str | None = None) -> Client:
        p = ports(self.app.services, self.app.settings, self.d)
        caller = FixedCredentials(p.guard, api_key=key or self.agent_key)
        return Client(build_server(lambda: p, caller))


@pytest.fixture
async def env(app: App, echo: Echo) -> AsyncIterator[Env]:
    d = doubles("default", echo.host)
    _, agent = await app.services.access.create("default", ["admin"], "agent")
    _, other = await app.services.access.create("default", ["admin"], "other agent")
    yield Env(app, d, echo, agent, other)


def data(r: CallToolResult) -> dict[str, Any]:
    assert not r.is_error, r.content
    assert isinstance(r.structured_content, dict)
    return r.structured_content


def code(r: CallToolResult) -> str:
    assert r.is_error
    assert isinstance(r.structured_content, dict), r.content
    return str(r.structured_content["error"]["code"])


def ask(echo: Echo, **extra: Any) -> dict[str, Any]:
    return {
        "tool": "search-agent",
        "tool_schema_sha256": SCHEMA,
        "project": "search",
        "key": "openai-prod",
        "hosts": [echo.host],
        "methods": ["GET"],
        "duration_seconds": 600,
        "purpose": "look up prices",
        **extra,
    }


async def test_the_flow_in_process(env: Env) -> None:
    async with env.client() as c:
        tools = {t.name for t in (await c.list_tools()).tools}
        assert tools == {
            "list_keys",
            "request_access",
            "check_request",
            "call_upstream",
            "revoke_session",
        }
        keys = data(await c.call_tool("list_keys", {}))["keys"]
        assert [(k["project"], k["name"], k["provider"]) for k in keys] == [
            ("search", "openai-prod", "openai")
        ]
        # Low risk: approved at once, the session opens, its token shown this once.
        granted = data(await c.call_tool("request_access", ask(env.echo)))
        assert granted["status"] == "approved" and granted["approval_url"] is None
        session = granted["session"]
        assert session["proxy_token"].startswith("srp_")
        call = {
            "session_id": session["session_id"],
            "proxy_token": session["proxy_token"],
            "method": "GET",
            "url": f"http://{env.echo.netloc}/v1/models?q=1",
            "headers": {"Accept": "application/json"},
        }
        answer = data(await c.call_tool("call_upstream", call))
        assert answer["status"] == 200
        echoed = json.loads(answer["body"])
        # A JSON text body stays text (the SDK would parse it into an object otherwise).
        post = {**call, "method": "GET", "body": '{"q": "hi"}'}
        assert json.loads(data(await c.call_tool("call_upstream", post))["body"])["body"] == (
            '{"q": "hi"}'
        )
        assert echoed["path"] == "/v1/models?q=1"
        assert echoed["headers"]["Authorization"] == "Bearer [redacted]"  # scrubbed
        # The token opened nothing twice: checking the request shows the session only.
        checked = data(await c.call_tool("check_request", {"request_id": granted["request_id"]}))
        assert checked["session"] == {
            "session_id": session["session_id"],
            "proxy_token": None,
            "expires_at": None,
        }
        revoked = await c.call_tool("revoke_session", {"session_id": session["session_id"]})
        assert data(revoked) == {"session_id": session["session_id"], "revoked": True}
        assert code(await c.call_tool("call_upstream", call)) == "APR012"
    # The upstream saw the stored key (injected by the broker), never a proxy token.
    assert env.echo.captured and all("srp_" not in json.dumps(c) for c in env.echo.captured)
    assert env.echo.captured[0]["headers"]["Authorization"] == f"Bearer {CANARY}"
    assert len(env.echo.captured) == 2


async def test_pending_request_returns_its_approval_url_then_opens_once(env: Env) -> None:
    async with env.client() as c:
        pending = data(await c.call_tool("request_access", ask(env.echo, methods=["POST"])))
        assert pending["status"] == "pending" and pending["session"] is None
        assert pending["approval_url"].endswith(pending["request_id"])
        assert [f["name"] for f in pending["factors"]] == ["write methods", "duration"]
        assert pending["score"] == 40
        rid = {"request_id": pending["request_id"]}
        assert data(await c.call_tool("check_request", rid))["status"] == "pending"
        env.d.requests.approve(pending["request_id"])
        opened = data(await c.call_tool("check_request", rid))
        assert opened["status"] == "approved"
        assert opened["session"]["proxy_token"].startswith("srp_")
        again = data(await c.call_tool("check_request", rid))
        assert again["session"]["proxy_token"] is None  # shown once


async def test_a_session_handle_with_another_principals_token_is_refused(env: Env) -> None:
    async with env.client() as c:
        session = data(await c.call_tool("request_access", ask(env.echo)))["session"]
    call = {
        "session_id": session["session_id"],
        "proxy_token": session["proxy_token"],
        "method": "GET",
        "url": f"http://{env.echo.netloc}/",
    }
    async with env.client(env.other_key) as other:
        assert code(await other.call_tool("call_upstream", call)) == "APR012"
        # Nor may it look at the request or revoke the session as its own.
        rid = {"request_id": session["session_id"]}
        assert code(await other.call_tool("check_request", rid)) == "APR005"
    async with env.client() as c:
        # The owner's token with another session's handle: refused too.
        wrong = {**call, "session_id": "ses_000000000000"}
        assert code(await c.call_tool("call_upstream", wrong)) == "APR012"
        # The token never goes upstream, even when the agent puts it in a header.
        leak = {**call, "headers": {"Authorization": f"Bearer {session['proxy_token']}"}}
        assert code(await c.call_tool("call_upstream", leak)) == "ENC001"
    assert env.echo.captured == []
    rows = await audit_rows(env.app, "api.rejected")
    assert {(r.detail or {})["code"] for r in rows} >= {"APR012", "ENC001"}


async def test_no_credentials_and_bad_credentials_are_refused(env: Env) -> None:
    p = ports(env.app.services, env.app.settings, env.d)
    for caller in (
        FixedCredentials(p.guard),
        FixedCredentials(p.guard, api_key="sr_not-a-key"),
    ):
        async with Client(build_server(lambda: p, caller)) as c:
            assert code(await c.call_tool("list_keys", {})) == "AUTH001"
    assert env.d.requests.views == {}
