"""Row-level security on the share tables (migration 0012): as the serving role, a
tenant's scope sees only its own shares and access log, an unscoped task sees none,
and a redeem (which finds its token in system scope) still works in any tenant."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from strongroom.context import Actor
from strongroom.secrets.shares_models import NewShare
from strongroom.secrets.shares_redeem import Redeemer
from strongroom.services.container import Services
from strongroom.store.tenancy import NONE, isolated_scope, set_tenant
from tests.integration.rls_support import count_rows, serving_role

pytestmark = pytest.mark.postgres


@pytest.fixture
async def app_role(postgres_server: Any, tmp_path: Path) -> AsyncIterator[Services]:
    async with serving_role(postgres_server, tmp_path) as svc:
        yield svc


async def test_each_tenant_sees_only_its_shares(app_role: Services) -> None:
    svc = app_role
    tokens = {}
    for tenant in ("tenant-a", "tenant-b"):
        actor = Actor("creator", tenant, f"rid-{tenant}", None)
        with isolated_scope():
            set_tenant(tenant)
            _, tokens[tenant] = await svc.shares.create(
                actor, NewShare(expires_in_seconds=600, value=tenant.encode(), views=2)
            )
    # A redeem knows no tenant: it finds the token in system scope, then works in the
    # share's tenant (and writes its access log there).
    with isolated_scope():
        set_tenant(NONE)
        anonymous = Redeemer(Actor("anonymous", "-", "rid-redeem", None))
        out = await svc.shares.redeem(anonymous, tokens["tenant-b"], None)
    assert out.value == b"tenant-b"
    for table in ("shares", "share_accesses"):
        assert await count_rows(svc, table, "tenant-a") == (1 if table == "shares" else 0)
        assert await count_rows(svc, table, "tenant-b") == 1
        assert await count_rows(svc, table, NONE) == 0
    with isolated_scope():
        set_tenant("tenant-a")
        async with svc.db.read() as s:
            q = text("SELECT tablename FROM pg_policies WHERE policyname = 'tenant_isolation'")
            policies = set((await s.execute(q)).scalars())
    assert {"shares", "share_accesses"} <= policies
