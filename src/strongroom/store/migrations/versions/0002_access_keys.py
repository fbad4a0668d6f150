"""access key lifecycle: creator, rotation grace, last use

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 14:50:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_COLUMNS = (
    ("created_by", sa.String(length=200)),
    ("rotated_at", sa.DateTime(timezone=True)),
    ("previous_secret_hash", sa.LargeBinary()),
    ("previous_valid_until", sa.DateTime(timezone=True)),
    ("last_used_at", sa.DateTime(timezone=True)),
    ("last_used_addr", sa.String(length=64)),
)


def upgrade() -> None:
    # batch mode: SQLite cannot add an index and columns in place portably.
    with op.batch_alter_table("access_keys", schema=None) as batch_op:
        for name, type_ in _COLUMNS:
            batch_op.add_column(sa.Column(name, type_, nullable=True))
        batch_op.create_index("ix_access_keys_tenant_id", ["tenant_id", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("access_keys", schema=None) as batch_op:
        batch_op.drop_index("ix_access_keys_tenant_id")
        for name, _ in reversed(_COLUMNS):
            batch_op.drop_column(name)
