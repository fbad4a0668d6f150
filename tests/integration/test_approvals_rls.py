"""Row-level security on the MCP approvals tables (migration 0017): as the serving
role, a tenant's scope sees only its own tools, policies, requests, decisions,
sessions and proxy tokens, and an unscoped task sees none; a proxy token of one tenant
is refused in another."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from strongroom.approvals.contract import AccessAsk, ToolIdentity
from strongroom.approvals.digest import of_ask
from strongroom.approvals.errors import TokenRefused
from strongroom.approvals.models import NewTool, Policy
from strongroom.context import Actor
from strongroom.services.container import Services
from strongroom.store.tenancy import NONE, isolated_scope, set_tenant
from tests.api.approvals_helpers import SCHEMA_SHA, Facts
from tests.integration.rls_support import count_rows, serving_role

pytestmark = pytest.mark.postgres
TABLES = (
    "mcp_tools",
    "mcp_policies",
    "mcp_requests",
    "mcp_decisions",
    "mcp_sessions",
    "mcp_proxy_tokens",
)


@pytest.fixture
async def app_role(postgres_server: Any, tmp_path: Path) -> AsyncIterator[Services]:
    async with serving_role(postgres_server, tmp_path) as svc:
        yield svc


async def _flow(svc: Services, tenant: str) -> str:
    """A tool, a policy, a pending request decided by a human, a session: one row in
    every table of ``tenant``; the proxy token."""
    a = svc.approvals
    a.requests.keys = a.requests.anomalies = Facts({"k": "high"})
    admin = Actor("admin", tenant, "rid-admin", None)
    agent = Actor("agent", tenant, "rid-agent", None)
    with isolated_scope():
        set_tenant(tenant)
        await a.policies.write(admin, Policy(new_tool_seconds=0))
        tool = await a.tools.register(
            admin, NewTool("t", "c", SCHEMA_SHA, ("api.example.com",), ("GET",))
        )
        await a.tools.approve(admin, tool.id)
        ask = AccessAsk(
            ToolIdentity("t", "c", SCHEMA_SHA), "p", "k", ("api.example.com",), ("GET",), 300, "x"
        )
        view = await a.requests.create(agent, ask)
        await a.requests.decide(admin, view.request_id, True, "", of_ask(view.ask))
        return (await a.sessions.open(agent, view.request_id)).proxy_token


async def test_each_tenant_sees_only_its_approvals(app_role: Services) -> None:
    svc = app_role
    tokens = {t: await _flow(svc, t) for t in ("tenant-a", "tenant-b")}
    for table in TABLES:
        assert await count_rows(svc, table, "tenant-a") == 1, table
        assert await count_rows(svc, table, "tenant-b") == 1, table
        assert await count_rows(svc, table, NONE) == 0, table
    with isolated_scope():
        set_tenant("tenant-b")
        intruder = Actor("agent", "tenant-b", "rid-x", None)  # same principal name, other tenant
        with pytest.raises(TokenRefused):
            await svc.approvals.sessions.verify(
                intruder, tokens["tenant-a"], host="api.example.com", method="GET"
            )
        async with svc.db.read() as s:
            q = text("SELECT tablename FROM pg_policies WHERE policyname = 'tenant_isolation'")
            policies = set((await s.execute(q)).scalars())
    assert set(TABLES) <= policies
