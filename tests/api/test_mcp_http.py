"""The MCP server over Streamable HTTP in the real service (create_app on uvicorn,
127.0.0.1), driven by the SDK's own client on both protocol revisions: an OAuth
resource server that accepts access keys and bearer tokens issued for its resource
URL only, publishes RFC 9728 metadata, answers 401 with ``resource_metadata``; and no
canary key value in any tool result, MCP message, log line or audit record."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest
import uvicorn
from mcp import Client, MCPError
from mcp.client.streamable_http import streamable_http_client
from mcp.types import CallToolResult, ElicitRequestURLParams, ElicitResult
from sqlalchemy import select

from strongroom.api.app import create_app
from strongroom.kms.local import create_master_key_file
from strongroom.services.container import Services, build_services
from strongroom.store.models import AuditRecord
from strongroom.store.tenancy import enter_system_scope
from tests.api.conftest import make_settings
from tests.api.mcp_doubles import CANARY, Doubles, Echo, doubles, echo_server, ports
from tests.oidc_support import AUDIENCE, ISSUER, Issuer, JwksServer, issuer_config, serve

MODES = ["legacy", "2026-07-28"]


@pytest.fixture(scope="module")
def idp() -> Issuer:
    return Issuer()


@pytest.fixture(scope="module")
def jwks(idp: Issuer) -> Iterator[JwksServer]:
    yield from serve(idp)


@pytest.fixture
def echo() -> Iterator[Echo]:
    yield from echo_server()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Served:
    base: str
    resource: str
    services: Services
    d: Doubles
    echo: Echo
    key: str

    def client(self, mode: str, headers: dict[str, str], **kw: Any) -> tuple[Client, Any]:
        http = httpx2.AsyncClient(headers=headers, timeout=30)
        transport = streamable_http_client(self.resource, http_client=http)
        return Client(transport, mode=mode, **kw), http


@pytest.fixture
async def served(
    database_url: str,
    tmp_path: Path,
    jwks: JwksServer,
    echo: Echo,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[Served]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings = make_settings(
        database_url,
        tmp_path,
        oidc_issuers=[issuer_config(jwks.uri)],
        mcp_resource_url=f"{base}/mcp",
        **getattr(request, "param", {}),
    )
    create_master_key_file(settings.kms.master_key_file)
    services = build_services(settings)
    d = doubles("default", echo.host)
    # The edge built by create_app finds its domains through mcp/wiring.py: these
    # doubles instead (the real guard, access keys, audit trail and database stay).
    monkeypatch.setattr("strongroom.mcp.http.mcp_ports", lambda svc, st: ports(svc, st, d))
    application = create_app(settings, services)
    server = uvicorn.Server(
        uvicorn.Config(application, host="127.0.0.1", port=port, lifespan="on", log_level="error")
    )
    task = asyncio.create_task(server.serve())
    for _ in range(500):
        if server.started:
            break
        await asyncio.sleep(0.01)
    assert server.started
    enter_system_scope()
    _, key = await services.access.create("default", ["admin"], "agent")
    yield Served(base, f"{base}/mcp", services, d, echo, key)
    server.should_exit = True
    await task
    await services.close()


def data(r: CallToolResult) -> dict[str, Any]:
    assert not r.is_error, r.content
    assert isinstance(r.structured_content, dict)
    return r.structured_content


def ask(echo: Echo, **extra: Any) -> dict[str, Any]:
    return {
        "tool": "search-agent",
        "tool_schema_sha256": "b" * 64,
        "project": "search",
        "key": "openai-prod",
        "hosts": [echo.host],
        "methods": ["GET"],
        "duration_seconds": 600,
        "purpose": "look up prices",
        **extra,
    }


@pytest.mark.parametrize("mode", MODES)
async def test_flow_over_http_with_an_access_key(served: Served, mode: str) -> None:
    client, http = served.client(mode, {"X-API-Key": served.key})
    async with http, client as c:
        assert c.protocol_version == ("2025-11-25" if mode == "legacy" else mode)
        assert [k["name"] for k in data(await c.call_tool("list_keys", {}))["keys"]] == [
            "openai-prod"
        ]
        session = data(await c.call_tool("request_access", ask(served.echo)))["session"]
        call = {
            "session_id": session["session_id"],
            "proxy_token": session["proxy_token"],
            "method": "POST",
            "url": f"http://{served.echo.netloc}/v1/chat",
            "body": '{"q": "hi"}',
        }
        # POST was not granted: refused by the sessions double before anything left.
        assert (await c.call_tool("call_upstream", call)).is_error
        answer = data(await c.call_tool("call_upstream", {**call, "method": "GET", "body": ""}))
        assert answer["status"] == 200 and CANARY not in json.dumps(answer)
        await c.call_tool("revoke_session", {"session_id": session["session_id"]})
    assert len(served.echo.captured) == 1
    assert "srp_" not in json.dumps(served.echo.captured)


@pytest.mark.parametrize("mode", MODES)
async def test_bearer_tokens_must_be_issued_for_this_resource(
    served: Served, idp: Issuer, mode: str
) -> None:
    ok = idp.token(aud=served.resource, groups=["strongroom-admins"])
    client, http = served.client(mode, {"Authorization": f"Bearer {ok}"})
    async with http, client as c:
        assert data(await c.call_tool("list_keys", {}))["keys"]
    # A token for the REST API (or any other audience) is refused at the door.
    for aud in (AUDIENCE, "https://elsewhere.example/mcp"):
        token = idp.token(aud=aud, groups=["strongroom-admins"])
        r = await _post(served, {"Authorization": f"Bearer {token}"})
        assert r.status_code == 401 and r.json()["error"]["code"] == "AUTH001"
    rows = await _audit(served.services, "auth.bearer")
    assert [(r.detail or {}).get("reason") for r in rows][-2:] == ["audience", "audience"]
    # And the MCP token does not open the REST API (its audience is not the API's).
    async with httpx.AsyncClient() as plain:
        r = await plain.get(
            f"{served.base}/api/v1/access-keys", headers={"Authorization": f"Bearer {ok}"}
        )
    assert r.status_code == 401


async def test_no_credentials_get_401_with_resource_metadata(served: Served) -> None:
    r = await _post(served, {})
    assert r.status_code == 401 and r.json()["error"]["code"] == "AUTH001"
    challenge = r.headers["www-authenticate"]
    meta_url = f"{served.base}/.well-known/oauth-protected-resource/mcp"
    assert challenge == f'Bearer resource_metadata="{meta_url}"'
    async with httpx.AsyncClient() as plain:
        meta = (await plain.get(meta_url)).json()
    assert meta["resource"] == served.resource
    assert meta["authorization_servers"] == [ISSUER]
    assert meta["bearer_methods_supported"] == ["header"]
    # The SDK's client sees the refusal too, before any tool runs.
    client, http = served.client("2026-07-28", {})
    with pytest.raises(BaseExceptionGroup) as refused:
        async with http, client as c:
            await c.call_tool("list_keys", {})
    assert any(isinstance(e, MCPError) for e in _leaves(refused.value))
    assert served.d.requests.views == {}


async def test_url_elicitation_sends_the_user_to_the_approval_page(served: Served) -> None:
    asked: list[str] = []

    async def elicited(_: Any, params: Any) -> ElicitResult:
        assert isinstance(params, ElicitRequestURLParams)
        asked.append(params.url)
        return ElicitResult(action="accept")

    client, http = served.client("legacy", {"X-API-Key": served.key}, elicitation_callback=elicited)
    async with http, client as c:
        pending = data(await c.call_tool("request_access", ask(served.echo, methods=["PUT"])))
    assert pending["status"] == "pending" and asked == [pending["approval_url"]]
    # A 2026-07-28 client has no server-to-client requests: the URL is in the result.
    client, http = served.client("2026-07-28", {"X-API-Key": served.key})
    async with http, client as c:
        again = data(await c.call_tool("request_access", ask(served.echo, methods=["PUT"])))
    assert again["approval_url"] and len(asked) == 1


async def test_canary_never_in_results_messages_logs_or_audit(
    served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[str] = []

    async def on_message(message: Any) -> None:
        seen.append(repr(message))

    caplog.set_level(logging.DEBUG)
    for mode in MODES:
        kw = {"message_handler": on_message} if mode == "legacy" else {}
        client, http = served.client(mode, {"X-API-Key": served.key}, **kw)
        async with http, client as c:
            for r in (
                await c.call_tool("list_keys", {}),
                granted := await c.call_tool("request_access", ask(served.echo)),
            ):
                seen.append(r.model_dump_json())
            s = data(granted)["session"]
            call = {
                "session_id": s["session_id"],
                "proxy_token": s["proxy_token"],
                "method": "GET",
                "url": f"http://{served.echo.netloc}/echo",
                "headers": {"X-Probe": "1"},
            }
            seen.append((await c.call_tool("call_upstream", call)).model_dump_json())
    # The upstream did get the canary (injected by the broker): the test is not vacuous.
    assert all(c["headers"]["Authorization"] == f"Bearer {CANARY}" for c in served.echo.captured)
    assert len(served.echo.captured) == 2
    assert not [m for m in seen if CANARY in m]
    assert CANARY not in caplog.text
    assert "srp_" not in caplog.text  # nor a proxy token, at any level
    rows = await _audit(served.services, "")
    assert rows and not [r for r in rows if CANARY in repr(r.__dict__)]


def _leaves(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for e in exc.exceptions for leaf in _leaves(e)]
    return [exc]


@pytest.mark.parametrize(
    "served", [{"max_in_flight": 1, "max_queue_wait_seconds": 2}], indirect=True
)
async def test_an_open_session_stream_holds_no_admission_slot(served: Served) -> None:
    """A 2025-11-25 client keeps a GET stream open for its session; with one slot per
    worker, its tool calls (and everyone else's requests) still get through."""
    client, http = served.client("legacy", {"X-API-Key": served.key})
    async with http, client as c:
        for _ in range(3):
            assert data(await c.call_tool("list_keys", {}))["keys"]
        async with httpx.AsyncClient() as plain:
            r = await plain.get(f"{served.base}/api/v1/keys/u1", headers={"X-API-Key": served.key})
        assert r.status_code == 404


async def _post(served: Served, headers: dict[str, str]) -> httpx.Response:
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    async with httpx.AsyncClient() as client:
        return await client.post(
            served.resource,
            json=body,
            headers={"Accept": "application/json, text/event-stream", **headers},
        )


async def _audit(services: Services, prefix: str) -> list[AuditRecord]:
    await services.alerts.drain()
    async with services.db.read() as s:
        rows = list((await s.execute(select(AuditRecord).order_by(AuditRecord.id))).scalars())
    return [r for r in rows if r.action.startswith(prefix)]
