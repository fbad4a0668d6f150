"""The services of a PostgreSQL database as the serving role sees it (row-level
security enforced), for the per-domain RLS tests: migrated by the owner, then opened
as ``strongroom_app``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import text

from strongroom.kms.local import create_master_key_file
from strongroom.services.container import Services, build_services
from strongroom.store.migrate import upgrade
from strongroom.store.tenancy import enter_system_scope, isolated_scope, set_tenant
from tests.api.conftest import make_settings


@asynccontextmanager
async def serving_role(
    postgres_server: Any, tmp_path: Path, **overrides: Any
) -> AsyncIterator[Services]:
    owner_url = postgres_server.create_database()
    create_master_key_file(tmp_path / "strongroom.key")
    owner = build_services(make_settings(owner_url, tmp_path))
    await upgrade(owner.db, app_role="strongroom_app")
    await owner.db.dispose()
    dbname = owner_url.rsplit("/", 1)[1]
    svc = build_services(make_settings(postgres_server.app_role_url(dbname), tmp_path, **overrides))
    enter_system_scope()
    await svc.start()
    try:
        yield svc
    finally:
        enter_system_scope()
        await svc.close()


async def count_rows(svc: Services, table: str, scope: str) -> int:
    """Rows of ``table`` visible under tenant scope ``scope``."""
    with isolated_scope():
        set_tenant(scope)
        async with svc.db.read() as s:
            return int((await s.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one())
