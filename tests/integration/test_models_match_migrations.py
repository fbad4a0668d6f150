"""The ORM models (store/models/) and the migrations describe the same schema: a
database migrated to head shows Alembic's autogenerate no difference from
``Base.metadata``, on SQLite and on PostgreSQL. A model changed without a
migration (or the reverse) fails here rather than in production."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection

from strongroom.store.db import Database
from strongroom.store.migrate import upgrade
from strongroom.store.models import Base
from tests.services import PostgresServer


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def _diff_after_upgrade(url: str) -> list[Any]:
    db = Database(url)
    try:
        await upgrade(db)
        async with db.engine.connect() as conn:
            return await conn.run_sync(_differences)
    finally:
        await db.dispose()


def test_every_table_is_mapped() -> None:
    # The package re-exports every model, so importing it registers all tables.
    assert set(Base.metadata.tables) == {
        "access_keys",
        "api_key_values",
        "api_keys",
        "api_key_usage_hours",
        "api_key_usage_sources",
        "approval_page_sessions",
        "audit_checkpoints",
        "certificate_authorities",
        "certificate_keys",
        "certificate_roles",
        "certificate_sans",
        "certificates",
        "audit_records",
        "audit_segments",
        "cluster_counters",
        "cluster_leases",
        "custom_roles",
        "idempotency_keys",
        "key_material",
        "key_tombstones",
        "mcp_decisions",
        "mcp_policies",
        "mcp_proxy_tokens",
        "mcp_requests",
        "mcp_sessions",
        "mcp_tools",
        "notices_sent",
        "projects",
        "revoked_tokens",
        "secret_meta",
        "secret_values",
        "secret_versions",
        "secrets",
        "service_keys",
        "share_accesses",
        "shares",
        "tenant_data_keys",
        "user_key_history",
        "user_key_versions",
        "user_keys",
    }


async def test_models_match_migrations_on_sqlite(tmp_path: Path) -> None:
    assert await _diff_after_upgrade(f"sqlite+aiosqlite:///{tmp_path / 'm.db'}") == []


@pytest.mark.postgres
async def test_models_match_migrations_on_postgresql(postgres_server: PostgresServer) -> None:
    assert await _diff_after_upgrade(postgres_server.create_database()) == []
