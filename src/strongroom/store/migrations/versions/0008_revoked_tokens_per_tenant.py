"""revoked bearer tokens belong to the tenant whose tokens they refuse

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 08:30:00

A revocation applied to every token with its (issuer, jti), whatever tenant the token
acted in, so one tenant's administrator could lock another tenant's users out. From
here on a row applies only to tokens acting in its ``tenant_id`` (``*``: every
tenant, for a principal spanning tenants); the key becomes (id, tenant_id) so the
same token may be revoked in several tenants. Rows written before this revision
recorded the revoker's tenant, not the token's; they become ``*`` so that no token
revoked so far comes back to life (a revocation lasts until the token's expiry).
On PostgreSQL the table gets migration 0007's tenant policy: a tenant's requests see
and write only its own rows; the verifier reads them all in system scope.
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_POLICY = "strongroom_tenant_visible(tenant_id)"


def _sqlite_rekey(*key: str) -> None:
    """SQLite cannot alter a primary key: batch mode copies the table into this shape."""
    shape = sa.Table(
        "revoked_tokens",
        sa.MetaData(),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("issuer", sa.String(length=200), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_by", sa.String(length=200), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint(*key),
        sa.Index("ix_revoked_tokens_expires_at", "expires_at"),
    )
    with op.batch_alter_table("revoked_tokens", copy_from=shape, recreate="always"):
        pass


def upgrade() -> None:
    op.execute("UPDATE revoked_tokens SET tenant_id = '*'")
    if op.get_bind().dialect.name != "postgresql":
        _sqlite_rekey("id", "tenant_id")
        return
    op.execute("ALTER TABLE revoked_tokens DROP CONSTRAINT revoked_tokens_pkey")
    op.execute("ALTER TABLE revoked_tokens ADD PRIMARY KEY (id, tenant_id)")
    op.execute("ALTER TABLE revoked_tokens ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE revoked_tokens FORCE ROW LEVEL SECURITY")
    op.execute(
        f"CREATE POLICY tenant_isolation ON revoked_tokens USING ({_POLICY}) WITH CHECK ({_POLICY})"
    )


def downgrade() -> None:
    # One row per token again (the old key): keep the revocation, whichever tenant had it.
    op.execute(
        "DELETE FROM revoked_tokens WHERE EXISTS (SELECT 1 FROM revoked_tokens o"
        " WHERE o.id = revoked_tokens.id AND o.tenant_id < revoked_tokens.tenant_id)"
    )
    if op.get_bind().dialect.name != "postgresql":
        _sqlite_rekey("id")
        return
    op.execute("DROP POLICY IF EXISTS tenant_isolation ON revoked_tokens")
    op.execute("ALTER TABLE revoked_tokens NO FORCE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE revoked_tokens DISABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE revoked_tokens DROP CONSTRAINT revoked_tokens_pkey")
    op.execute("ALTER TABLE revoked_tokens ADD PRIMARY KEY (id)")
