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
from strongroom.kms.local import create_master_key_file
from strongroom.secrets.shares_models import NewShare
from strongroom.secrets.shares_redeem import Redeemer
from strongroom.services.container import Services, build_services
from strongroom.store.migrate import upgrade
from strongroom.store.tenancy import NONE, enter_system_scope, isolated_scope, set_tenant
from tests.api.conftest import make_settings

pytestmark = pytest.mark.postgres


@pytest.fixture
async def app_role(postgres_server: Any, tmp_path: Path) -> AsyncIterator[Services]:
    owner_url = postgres_server.create_database()
    create_master_key_file(tmp_path / "strongroom.key")
    owner = build_services(make_settings(owner_url, tmp_path))
    await upgrade(owner.db, app_role="strongroom_app")
    await owner.db.dispose()
    dbname = owner_url.rsplit("/", 1)[1]
    svc = build_services(make_settings(postgres_server.app_role_url(dbname), tmp_path))
    enter_system_scope()
    await svc.start()
    try:
        yield svc
    finally:
        enter_system_scope()
        await svc.close()


async def _count(svc: Services, table: str, scope: str) -> int:
    with isolated_scope():
        set_tenant(scope)
        async with svc.db.read() as s:
            return int((await s.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one())


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
        assert await _count(svc, table, "tenant-a") == (1 if table == "shares" else 0)
        assert await _count(svc, table, "tenant-b") == 1
        assert await _count(svc, table, NONE) == 0
    with isolated_scope():
        set_tenant("tenant-a")
        async with svc.db.read() as s:
            q = text("SELECT tablename FROM pg_policies WHERE policyname = 'tenant_isolation'")
            policies = set((await s.execute(q)).scalars())
    assert {"shares", "share_accesses"} <= policies
