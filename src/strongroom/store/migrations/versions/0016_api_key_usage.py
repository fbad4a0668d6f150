"""api key usage: hourly counts and source addresses of stored API keys

Revision ID: 0016
Revises: 0013 (the head on this branch; the lead re-chains it onto 0015, the stored
keys' migration, at merge)
Create Date: 2026-12-03 06:30:00

Tenant-owned: both tables get migration 0007's tenant policy (FORCE ROW LEVEL
SECURITY) on PostgreSQL. Written in batches by credentials/usage.py (upserts that
add), so several replicas flushing at once add up.
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)
_TABLES = ("api_key_usage_hours", "api_key_usage_sources")
_POLICY = "strongroom_tenant_visible(tenant_id)"


def upgrade() -> None:
    op.create_table(
        "api_key_usage_hours",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("key_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hour", _TS, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("caller", sa.String(length=200), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("status_class", sa.String(length=8), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "tenant_id", "key_id", "hour", "kind", "caller", "host", "status_class"
        ),
    )
    op.create_index("ix_api_key_usage_hours_hour", "api_key_usage_hours", ["hour"])
    op.create_table(
        "api_key_usage_sources",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("key_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("first_at", _TS, nullable=False),
        sa.Column("last_at", _TS, nullable=False),
        sa.Column("last_caller", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "key_id", "source"),
    )
    op.create_index(
        "ix_api_key_usage_sources_last",
        "api_key_usage_sources",
        ["tenant_id", "key_id", "last_at"],
    )
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite: one process, no roles; isolation is in code
    for table in _TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY tenant_isolation ON {table} USING ({_POLICY}) WITH CHECK ({_POLICY})"
        )


def downgrade() -> None:
    for table in reversed(_TABLES):
        op.drop_table(table)
