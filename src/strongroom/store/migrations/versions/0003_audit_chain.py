"""audit chain: segment fields on records, segments, signed checkpoints

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 15:10:00

Records written before this revision keep NULL chain fields; `audit verify` counts
them as unchained history. On PostgreSQL every audit table refuses UPDATE, DELETE
and TRUNCATE (triggers; audit_records already had its row trigger since 0001).
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_CHAIN_COLUMNS = (
    ("segment_id", sa.String(length=32)),
    ("seq", sa.BigInteger()),
    ("prev_hash", sa.LargeBinary()),
    ("hash", sa.LargeBinary()),
    ("mac", sa.LargeBinary()),
)
_NEW_TABLES = ("audit_segments", "audit_checkpoints")


def upgrade() -> None:
    with op.batch_alter_table("audit_records", schema=None) as batch_op:
        for name, type_ in _CHAIN_COLUMNS:
            batch_op.add_column(sa.Column(name, type_, nullable=True))
    op.create_index("ux_audit_segment_seq", "audit_records", ["segment_id", "seq"], unique=True)
    op.create_table(
        "audit_segments",
        sa.Column("segment_id", sa.String(length=32), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("writer", sa.String(length=200), nullable=False),
        sa.Column("kms_key_ref", sa.String(length=200), nullable=False),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("segment_id"),
    )
    op.create_index("ix_audit_segments_opened_at", "audit_segments", ["opened_at"])
    op.create_table(
        "audit_checkpoints",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("number", sa.BigInteger(), nullable=False),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("signature", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("number", name="uq_audit_checkpoints_number"),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$"
        )
        # A segment row may only have its wrapped k0 re-wrapped under a new root key
        # (``strongroom kms rewrap``): same segment, same k0, so the chain is unchanged.
        op.execute(
            "CREATE FUNCTION audit_segments_rewrap_only() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN IF TG_OP = 'UPDATE' AND NEW.segment_id = OLD.segment_id "
            "AND NEW.opened_at = OLD.opened_at AND NEW.writer = OLD.writer THEN RETURN NEW; "
            "END IF; RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$"
        )
        for table, function in (
            ("audit_segments", "audit_segments_rewrap_only"),
            ("audit_checkpoints", "audit_append_only"),
        ):
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION {function}()"
            )
        for table in ("audit_records", *_NEW_TABLES):
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only()"
            )
            op.execute(f"REVOKE UPDATE, DELETE, TRUNCATE ON {table} FROM PUBLIC")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in ("audit_records", *_NEW_TABLES):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        for table in _NEW_TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute("DROP FUNCTION IF EXISTS audit_append_only()")
        op.execute("DROP FUNCTION IF EXISTS audit_segments_rewrap_only()")
    op.drop_table("audit_checkpoints")
    op.drop_index("ix_audit_segments_opened_at", table_name="audit_segments")
    op.drop_table("audit_segments")
    op.drop_index("ux_audit_segment_seq", table_name="audit_records")
    with op.batch_alter_table("audit_records", schema=None) as batch_op:
        for name, _ in reversed(_CHAIN_COLUMNS):
            batch_op.drop_column(name)
