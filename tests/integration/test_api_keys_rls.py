"""Row-level security on the stored API keys' tables (migration 0015): the service,
connected as the serving role, sees only the request tenant's projects, keys and
sealed values even when a query forgets its tenant filter."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from strongroom.context import Actor
from strongroom.credentials.models import NewKey
from strongroom.services.container import Services, scope_to_tenant
from strongroom.store.tenancy import enter_system_scope
from tests.integration.rls_support import serving_role

pytestmark = pytest.mark.postgres
TABLES = ("projects", "api_keys", "api_key_values")


@pytest.fixture
async def app_role(postgres_server: Any, tmp_path: Path) -> AsyncIterator[Services]:
    async with serving_role(postgres_server, tmp_path) as app:
        for tenant in ("tenant-a", "tenant-b"):
            actor = Actor("test", tenant, f"r-{uuid.uuid4().hex[:6]}", None)
            await app.projects.create(actor, "billing")
            await app.api_keys.create(actor, "billing", NewKey("stripe", f"sk-{tenant}-value"))
        yield app


async def test_each_table_shows_only_the_request_tenant(app_role: Services) -> None:
    scope_to_tenant("tenant-a")
    async with app_role.db.read() as s:
        for table in TABLES:
            n = (await s.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one()
            assert n == 1, table
    with pytest.raises(DBAPIError):  # WITH CHECK: no row moves to another tenant
        async with app_role.db.transaction() as s:
            await s.execute(text("UPDATE api_keys SET tenant_id = 'tenant-b'"))
    actor = Actor("test", "tenant-a", "r-x", None)
    target = await app_role.api_key_use.for_use(actor, "billing", "stripe")
    assert target.value == b"sk-tenant-a-value"
    enter_system_scope()
    async with app_role.db.read() as s:
        total = (await s.execute(text("SELECT count(*) FROM api_key_values"))).scalar_one()
    assert total == 2
