"""Approvals page sessions: sign-ins shared by every worker and replica

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03 10:15:00

One row per signed-in browser of the approvals page (access/page_sessions.py): the
SHA-256 of the cookie's random id, the principal as resolved at sign-in, the forms'
synchronizer token and the expiry. Migration 0007's tenant policy (FORCE ROW LEVEL
SECURITY) on PostgreSQL; a session is found by its hash before its tenant is known,
under system scope, as authentication finds an access key.
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)
_POLICY = "strongroom_tenant_visible(tenant_id)"
_TABLE = "approval_page_sessions"


def upgrade() -> None:
    op.create_table(
        _TABLE,
        sa.Column("session_hash", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("principal_hash", sa.String(length=64), nullable=False),
        sa.Column("principal", sa.JSON(), nullable=False),
        sa.Column("csrf", sa.String(length=64), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("expires_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("session_hash"),
    )
    op.create_index("ix_approval_page_sessions_expiry", _TABLE, ["expires_at"])
    op.create_index("ix_approval_page_sessions_principal", _TABLE, ["tenant_id", "principal_hash"])
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite: no roles; isolation is in code
    op.execute(f"ALTER TABLE {_TABLE} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {_TABLE} FORCE ROW LEVEL SECURITY")
    op.execute(
        f"CREATE POLICY tenant_isolation ON {_TABLE} USING ({_POLICY}) WITH CHECK ({_POLICY})"
    )


def downgrade() -> None:
    op.drop_table(_TABLE)
