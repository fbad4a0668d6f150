"""Row-level security on the MCP approvals tables (migration 0017) and the approvals
page's sign-in sessions (0019): as the serving role, a tenant's scope sees only its
own tools, policies, requests, decisions, sessions and proxy tokens, and an unscoped
task sees none; a proxy token of one tenant is refused in another."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from strongroom.access.models import Principal
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


async def test_page_sessions_are_found_before_their_tenant_and_seen_only_by_it(
    app_role: Services,
) -> None:
    """Approvals page sign-ins (migration 0019): a cookie's session is looked up in
    system scope (its tenant is not known yet, as with an access key), whatever the
    caller's scope; a tenant's scope sees only its own rows, an unscoped task none."""
    pages = app_role.page_sessions
    sids: dict[str, str] = {}
    for tenant in ("tenant-a", "tenant-b"):
        with isolated_scope():
            set_tenant(NONE)
            sids[tenant], _ = await pages.open(Principal("approver", tenant, ("admin",)), tenant)
    table = "approval_page_sessions"
    assert await count_rows(app_role, table, "tenant-a") == 1
    assert await count_rows(app_role, table, "tenant-b") == 1
    assert await count_rows(app_role, table, NONE) == 0
    with isolated_scope():
        set_tenant("tenant-b")
        found = await pages.get(sids["tenant-a"])
        assert found is not None and found.tenant == "tenant-a"
        assert found.principal == Principal("approver", "tenant-a", ("admin",))
        await pages.close(sids["tenant-a"])
        assert await pages.get(sids["tenant-a"]) is None
        async with app_role.db.read() as s:
            q = text("SELECT tablename FROM pg_policies WHERE policyname = 'tenant_isolation'")
            assert table in set((await s.execute(q)).scalars())
    assert await count_rows(app_role, table, "tenant-a") == 0
    assert await count_rows(app_role, table, "tenant-b") == 1
