"""cluster leases and counters: scheduled jobs once cluster-wide, shared security counts

Revision ID: 0014
Revises: 0010
Create Date: 2026-12-02 16:00:00

``cluster_leases``: one row per scheduled job (who holds it, until when, and the
start of the next period it is due in) and per "once per period" claim of the
security-event rules. ``cluster_counters``: failed authentications per subject and
minute when there is no Redis. Neither is tenant-owned: no row-level security
(like the audit tables); names are job names or hashes of subjects.
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cluster_leases",
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("holder", sa.String(length=120), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_run_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "cluster_counters",
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("window", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", "window"),
    )


def downgrade() -> None:
    op.drop_table("cluster_counters")
    op.drop_table("cluster_leases")
