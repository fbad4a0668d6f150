"""shares: one value behind a one-time (or few-times) link, and its access log

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 16:10:00

Both tables are tenant-owned: on PostgreSQL they get migration 0007's tenant policy
(FORCE ROW LEVEL SECURITY). A redeem looks its token up in system scope (the holder's
tenant is not known before), then works in the share's tenant.
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_POLICY = "strongroom_tenant_visible(tenant_id)"
_TABLES = ("shares", "share_accesses")


def upgrade() -> None:
    op.create_table(
        "shares",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("token_hash", sa.LargeBinary(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("max_views", sa.Integer(), nullable=False),
        sa.Column("views_left", sa.Integer(), nullable=False),
        sa.Column("failed_attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("passphrase_hash", sa.String(length=300), nullable=True),
        sa.Column("sealed", sa.LargeBinary(), nullable=True),
        sa.Column("encoding", sa.String(length=16), nullable=False),
        sa.Column("client_encrypted", sa.Boolean(), nullable=False),
        sa.Column("source_path", sa.String(length=512), nullable=True),
        sa.Column("source_version", sa.Integer(), nullable=True),
        sa.Column("tenant_only", sa.Boolean(), nullable=False),
        sa.Column("allowed_principals", sa.JSON(), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end_reason", sa.String(length=16), nullable=True),
        sa.Column("last_access_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_shares_tenant_created", "shares", ["tenant_id", "created_at"])
    op.create_index("ix_shares_source", "shares", ["tenant_id", "source_path", "source_version"])
    op.create_index("ix_shares_token_hash", "shares", ["token_hash"], unique=True)
    op.create_index("ix_shares_expires_at", "shares", ["expires_at"])
    op.create_table(
        "share_accesses",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("share_id", sa.String(length=32), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["share_id"], ["shares.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_share_accesses_share", "share_accesses", ["share_id", "id"])
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite: isolation is in code (migration 0007)
    for table in _TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY tenant_isolation ON {table} USING ({_POLICY}) WITH CHECK ({_POLICY})"
        )


def downgrade() -> None:
    op.drop_table("share_accesses")
    op.drop_table("shares")
