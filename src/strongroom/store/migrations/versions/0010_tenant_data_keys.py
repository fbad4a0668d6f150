"""per-tenant data keys and once-only notices

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 16:20:00

``tenant_data_keys``: each tenant's AES-256 data keys, wrapped by the KMS, which seal
vault secrets, shares, CA keys and stored API keys (datakeys/). ``notices_sent``: one
row per reminder or alert sent, unique per (tenant, kind, subject, threshold), so a
notice goes out once however many replicas look for due ones. Both are tenant-owned
(row-level security as in 0007/0009) and append-only for the serving role
(store/grants.py); re-wrapping data keys is the schema owner's work.
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TABLES = ("tenant_data_keys", "notices_sent")


def upgrade() -> None:
    op.create_table(
        "tenant_data_keys",
        sa.Column("id", _ID, nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("kms_key_ref", sa.String(length=200), nullable=False),
        sa.Column("wrapped", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tenant_id", "version", name="uq_tenant_data_keys"),
    )
    op.create_table(
        "notices_sent",
        sa.Column("id", _ID, nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=512), nullable=False),
        sa.Column("threshold", sa.String(length=64), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tenant_id", "kind", "subject", "threshold", name="uq_notices_sent"),
    )
    if op.get_bind().dialect.name != "postgresql":
        return
    expr = "strongroom_tenant_visible(tenant_id)"
    for table in _TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY tenant_isolation ON {table} USING ({expr}) WITH CHECK ({expr})")


def downgrade() -> None:
    for table in reversed(_TABLES):
        op.drop_table(table)
