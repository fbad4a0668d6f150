"""Issue #18's flow end to end on a real service (uvicorn on 127.0.0.1), driven by the
SDK's own MCP client over Streamable HTTP on both protocol revisions, with the human
step done in a real headless Chromium on the approvals page: a low-risk request is
approved at once and its proxy token calls a local echo upstream through the broker;
a high-risk request waits, a second principal approves it in the browser at the URL
the tool returned, the session opens and calls upstream; revoked, the token is
refused. The stored key's value reaches the upstream only as its header, and appears
in no tool result; the upstream never sees a proxy token."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest
import uvicorn
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.types import CallToolResult

from strongroom.api.app import create_app
from strongroom.config import Settings
from strongroom.kms.local import create_master_key_file
from strongroom.services.container import build_services
from strongroom.store.tenancy import enter_system_scope
from tests.api.mcp_doubles import CANARY, Echo, echo_server
from tests.browser import test_approvals_page as page
from tests.browser import test_share_page as harness
from tests.databases import clone_sqlite

pytestmark = pytest.mark.slow
browser = harness.browser
SCHEMA = "d" * 64


@pytest.fixture
def echo() -> Iterator[Echo]:
    yield from echo_server()


@pytest.fixture
async def server(sqlite_template: Path, tmp_path: Path) -> Any:
    """(base URL, admin key) of a service whose MCP resource is its own /mcp."""
    port = harness._free_port()
    base = f"http://127.0.0.1:{port}"
    settings = Settings(
        database_url=clone_sqlite(sqlite_template, tmp_path / "strongroom.db"),
        master_key_file=tmp_path / "strongroom.key",
        scheduler_enabled=False,
        mcp_resource_url=f"{base}/mcp",
        # A freshly approved tool counts as new for a day by default: not here.
        approvals_new_tool_seconds=0,
    )
    create_master_key_file(settings.kms.master_key_file)
    services = build_services(settings)
    enter_system_scope()
    await services.start()
    _, admin = await services.access.create("default", ["admin"], "mcp flow test")
    await services.close()
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    await asyncio.to_thread(harness._wait_started, srv)
    yield base, admin
    srv.should_exit = True
    await asyncio.to_thread(thread.join, 20)


def _world(base: str, admin: str, echo: Echo) -> tuple[str, str]:
    """The stored key (low sensitivity, the echo's host), the approved tool, and the
    agent's and the approver's access keys."""
    api = page._api
    api(base, admin, "POST", "/api/v1/projects", {"name": "search", "description": "flow"})
    key = {
        "name": "openai-prod",
        "value": CANARY,
        "hosts": [echo.host],
        "allowedNetworks": ["127.0.0.0/8"],
        "sensitivity": "low",
    }
    api(base, admin, "POST", "/api/v1/projects/search/api-keys", key)
    tool = {
        "name": "search-agent",
        "clientId": "flow-client",
        "schemaSha256": SCHEMA,
        "hosts": [echo.host],
        "methods": ["GET", "POST"],
    }
    made = api(base, admin, "POST", "/api/v1/mcp/tools", tool)
    api(base, admin, "POST", f"/api/v1/mcp/tools/{made['id']}/approve", {})
    agent = api(base, admin, "POST", "/api/v1/access-keys", {"roles": ["mcp-agent"]})
    approver = api(base, admin, "POST", "/api/v1/access-keys", {"roles": ["mcp-approver"]})
    return str(agent["key"]), str(approver["key"])


def _ask(echo: Echo, **extra: Any) -> dict[str, Any]:
    return {
        "tool": "search-agent",
        "client_id": "flow-client",
        "tool_schema_sha256": SCHEMA,
        "project": "search",
        "key": "openai-prod",
        "hosts": [echo.host],
        "methods": ["GET"],
        "duration_seconds": 300,
        "purpose": "look up prices",
        **extra,
    }


def _data(r: CallToolResult, seen: list[str]) -> dict[str, Any]:
    assert not r.is_error, r.content
    assert isinstance(r.structured_content, dict)
    seen.append(json.dumps(r.structured_content) + json.dumps([c.model_dump() for c in r.content]))
    return r.structured_content


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
async def test_the_flow_over_http_with_a_human_in_the_browser(
    server: Any, browser: Any, echo: Echo, mode: str
) -> None:
    from selenium.webdriver.common.by import By

    base, admin = server
    agent, approver = _world(base, admin, echo)
    seen: list[str] = []
    http = httpx2.AsyncClient(headers={"X-API-Key": agent}, timeout=30)
    async with (
        http,
        Client(streamable_http_client(f"{base}/mcp", http_client=http), mode=mode) as c,
    ):
        assert c.protocol_version == ("2025-11-25" if mode == "legacy" else mode)
        low = _data(await c.call_tool("request_access", _ask(echo)), seen)
        assert low["status"] == "approved", low  # low risk: no human needed
        get = {
            "session_id": low["session"]["session_id"],
            "proxy_token": low["session"]["proxy_token"],
            "method": "GET",
            "url": f"http://{echo.netloc}/v1/models",
        }
        assert _data(await c.call_tool("call_upstream", get), seen)["status"] == 200

        high = _data(
            await c.call_tool(
                "request_access", _ask(echo, methods=["POST"], duration_seconds=1800)
            ),
            seen,
        )
        assert high["status"] == "pending", high  # writes for half an hour: a human decides
        rid = high["request_id"]
        assert high["approval_url"] == f"{base}/approvals/{rid}"

        # The approver follows the URL, signs in, and approves in the browser.
        page._sign_in(browser, base, approver, f"/approvals/{rid}")
        assert CANARY not in browser.page_source
        page._decide(browser, "approve", "price refresh is expected")
        page._wait(lambda: browser.find_element(By.ID, "status").text == "approved", "approved")

        opened = _data(await c.call_tool("check_request", {"request_id": rid}), seen)
        post = {
            "session_id": opened["session"]["session_id"],
            "proxy_token": opened["session"]["proxy_token"],
            "method": "POST",
            "url": f"http://{echo.netloc}/v1/chat",
            "body": '{"q": "hi"}',
        }
        assert _data(await c.call_tool("call_upstream", post), seen)["status"] == 200
        _data(await c.call_tool("revoke_session", {"session_id": post["session_id"]}), seen)
        refused = await c.call_tool("call_upstream", post)
        assert refused.is_error and isinstance(refused.structured_content, dict)
        assert str(refused.structured_content["error"]["code"]).startswith("APR")

    assert [h["method"] for h in echo.captured] == ["GET", "POST"]
    assert all(h["headers"]["Authorization"] == f"Bearer {CANARY}" for h in echo.captured)
    assert "srp_" not in json.dumps(echo.captured)
    assert not [s for s in seen if CANARY in s]
    # The REST view agrees: the request was approved (by the page, the only approver).
    async with httpx.AsyncClient() as rest:
        r = await rest.get(f"{base}/api/v1/mcp/requests/{rid}", headers={"X-API-Key": admin})
    assert r.status_code == 200 and r.json()["status"] == "approved", r.text
