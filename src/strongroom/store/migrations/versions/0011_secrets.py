"""the vault: secrets, their versions, sealed values and metadata rows

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 16:30:00

``secrets`` (one row per path and tenant: labels, settings, custom metadata),
``secret_versions`` (one per write), ``secret_values`` (the sealed value of a
version; destroy deletes the row) and ``secret_meta`` (custom metadata as rows for
the listing filter). Row-level security as in 0007/0009: ``secrets`` and
``secret_meta`` by their tenant column, the version and value tables through their
parent row.
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)
_DIRECT = ("secrets", "secret_meta")
_CHILDREN = {
    "secret_versions": "EXISTS (SELECT 1 FROM secrets s WHERE s.id = secret_id)",
    "secret_values": "EXISTS (SELECT 1 FROM secret_versions v WHERE v.id = version_id)",
}


def upgrade() -> None:
    op.create_table(
        "secrets",
        sa.Column("id", _ID, nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("path", sa.String(length=512), nullable=False),
        sa.Column("latest_version", sa.Integer(), nullable=False),
        sa.Column("current_version", sa.Integer(), nullable=False),
        sa.Column("pending_version", sa.Integer(), nullable=False),
        sa.Column("previous_version", sa.Integer(), nullable=False),
        sa.Column("max_versions", sa.Integer(), nullable=False),
        sa.Column("delete_version_after", sa.Integer(), nullable=False),
        sa.Column("custom_metadata", sa.JSON(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tenant_id", "path", name="uq_secrets_tenant_path"),
    )
    op.create_table(
        "secret_versions",
        sa.Column("id", _ID, nullable=False),
        sa.Column("secret_id", _ID, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("deleted_at", _TS, nullable=True),
        sa.Column("destroyed_at", _TS, nullable=True),
        sa.Column("expires_at", _TS, nullable=True),
        sa.Column("request_token", sa.String(length=64), nullable=True),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["secret_id"], ["secrets.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("secret_id", "version", name="uq_secret_versions"),
        sa.UniqueConstraint("secret_id", "request_token", name="uq_secret_versions_token"),
    )
    op.create_index("ix_secret_versions_expires", "secret_versions", ["expires_at"])
    op.create_table(
        "secret_values",
        sa.Column("version_id", _ID, nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["version_id"], ["secret_versions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("version_id"),
    )
    op.create_table(
        "secret_meta",
        sa.Column("secret_id", _ID, nullable=False),
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=512), nullable=False),
        sa.ForeignKeyConstraint(["secret_id"], ["secrets.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("secret_id", "key"),
    )
    op.create_index(
        "ix_secret_meta_lookup", "secret_meta", ["tenant_id", "key", "value", "secret_id"]
    )
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite: one process, no roles; isolation is in code
    policies = {t: "strongroom_tenant_visible(tenant_id)" for t in _DIRECT} | _CHILDREN
    for table, expr in policies.items():
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY tenant_isolation ON {table} USING ({expr}) WITH CHECK ({expr})")


def downgrade() -> None:
    op.drop_index("ix_secret_meta_lookup", table_name="secret_meta")
    op.drop_table("secret_meta")
    op.drop_table("secret_values")
    op.drop_index("ix_secret_versions_expires", table_name="secret_versions")
    op.drop_table("secret_versions")
    op.drop_table("secrets")
