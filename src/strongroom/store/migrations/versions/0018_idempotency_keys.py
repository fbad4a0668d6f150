"""Idempotency keys: the first answer to a write, replayed to its retries

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03 07:30:00

One row per (tenant, principal, key) (api/idempotency.py, idempotency/). The stored
answer is sealed under the tenant's data key (it can carry a new access key or a
share token); the rest is a fingerprint (SHA-256) and times. Migration 0007's tenant
policy (FORCE ROW LEVEL SECURITY) on PostgreSQL.
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)
_POLICY = "strongroom_tenant_visible(tenant_id)"


def upgrade() -> None:
    op.create_table(
        "idempotency_keys",
        sa.Column("id", _ID, nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("principal", sa.String(length=200), nullable=False),
        sa.Column("idem_key", sa.String(length=255), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("response", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("expires_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tenant_id", "principal", "idem_key", name="uq_idempotency_keys_key"),
    )
    op.create_index("ix_idempotency_keys_expiry", "idempotency_keys", ["expires_at"])
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite: one process, no roles; isolation is in code
    op.execute("ALTER TABLE idempotency_keys ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE idempotency_keys FORCE ROW LEVEL SECURITY")
    op.execute(
        f"CREATE POLICY tenant_isolation ON idempotency_keys USING ({_POLICY}) "
        f"WITH CHECK ({_POLICY})"
    )


def downgrade() -> None:
    op.drop_table("idempotency_keys")
