"""Row-level security on the vault's tables (migration 0011): the service, connected
as the serving role, sees only the request tenant's secrets, versions, sealed values
and metadata rows even when a query forgets its tenant filter."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from strongroom.context import Actor
from strongroom.secrets.lifecycle import MetadataChange
from strongroom.secrets.service import WriteRequest
from strongroom.services.container import Services, scope_to_tenant
from strongroom.store.tenancy import enter_system_scope
from tests.integration.rls_support import serving_role

pytestmark = pytest.mark.postgres
TABLES = ("secrets", "secret_versions", "secret_values", "secret_meta")


@pytest.fixture
async def app_role(postgres_server: Any, tmp_path: Path) -> AsyncIterator[Services]:
    async with serving_role(postgres_server, tmp_path) as app:
        for tenant in ("tenant-a", "tenant-b"):
            actor = Actor("test", tenant, f"r-{uuid.uuid4().hex[:6]}", None)
            await app.secrets.write(actor, f"apps/{tenant}/db", WriteRequest({"pw": tenant}))
            change = MetadataChange(custom_metadata={"owner": tenant})
            await app.secret_lifecycle.update_metadata(actor, f"apps/{tenant}/db", change)
        yield app


async def test_each_vault_table_shows_only_the_request_tenant(app_role: Services) -> None:
    scope_to_tenant("tenant-a")
    async with app_role.db.read() as s:
        for table in TABLES:
            n = (await s.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one()
            assert n == 1, table
        paths = (await s.execute(text("SELECT path FROM secrets"))).scalars().all()
    assert paths == ["apps/tenant-a/db"]
    with pytest.raises(DBAPIError):  # WITH CHECK: no row moves to another tenant
        async with app_role.db.transaction() as s:
            await s.execute(text("UPDATE secrets SET tenant_id = 'tenant-b'"))
    enter_system_scope()
    async with app_role.db.read() as s:
        total = (await s.execute(text("SELECT count(*) FROM secret_values"))).scalar_one()
    assert total == 2
