"""stored third-party API keys: projects, keys, their two sealed value slots

Revision ID: 0015
Revises: 0013 (the head when written: 0011 -> 0012 -> 0014 -> 0013 -> 0015)
Create Date: 2026-12-03 06:30:00

``projects`` group a tenant's keys. ``api_keys`` hold what the broker needs besides the
value (hosts, networks, injection), the lifecycle (state, expiry, rotation period and
hook, owners, tags, sensitivity) and ``version``, the compare-and-set counter of every
change. ``api_key_values`` hold the sealed values, one row per slot (``current``,
``previous``), so a value leaves the database by deleting a row. Every table carries
its tenant and gets migration 0007's tenant policy (FORCE ROW LEVEL SECURITY).
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0013"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)
_TABLES = ("projects", "api_keys", "api_key_values")
_POLICY = "strongroom_tenant_visible(tenant_id)"


def upgrade() -> None:
    op.create_table(
        "projects",
        sa.Column("id", _ID, nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("description", sa.String(length=512), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tenant_id", "name", name="uq_projects_tenant_name"),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", _ID, nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("project_id", _ID, nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("provider", sa.String(length=64), nullable=False),
        sa.Column("hosts", sa.JSON(), nullable=False),
        sa.Column("allowed_networks", sa.JSON(), nullable=False),
        sa.Column("injection_kind", sa.String(length=8), nullable=False),
        sa.Column("injection_name", sa.String(length=128), nullable=False),
        sa.Column("injection_template", sa.String(length=256), nullable=False),
        sa.Column("expires_at", _TS, nullable=True),
        sa.Column("rotate_after_days", sa.Integer(), nullable=True),
        sa.Column("rotated_at", _TS, nullable=False),
        sa.Column("previous_until", _TS, nullable=True),
        sa.Column("rotation_hook", sa.String(length=64), nullable=True),
        sa.Column("rotation_token", sa.String(length=64), nullable=True),
        sa.Column("owners", sa.JSON(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("sensitivity", sa.String(length=8), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("state_reason", sa.String(length=200), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tenant_id", "project_id", "name", name="uq_api_keys_name"),
    )
    op.create_index("ix_api_keys_project", "api_keys", ["project_id", "name"])
    op.create_table(
        "api_key_values",
        sa.Column("key_id", _ID, nullable=False),
        sa.Column("slot", sa.String(length=8), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(["key_id"], ["api_keys.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("key_id", "slot"),
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
    op.drop_table("api_key_values")
    op.drop_index("ix_api_keys_project", table_name="api_keys")
    op.drop_table("api_keys")
    op.drop_table("projects")
