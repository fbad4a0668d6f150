"""certificates: inventory, sealed private keys, internal CA authorities and roles

Revision ID: 0013
Revises: 0014 (re-chained after main gained 0014; the lead re-chains at merge)
Create Date: 2026-12-02 16:10:00

Every table carries its tenant and gets migration 0007's tenant policy (FORCE ROW
LEVEL SECURITY) on PostgreSQL. Private keys (``certificate_keys.sealed``,
``certificate_authorities.sealed_key``) are sealed by the datakeys layer.
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0014"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)
_TABLES = (
    "certificates",
    "certificate_sans",
    "certificate_keys",
    "certificate_authorities",
    "certificate_roles",
)
_POLICY = "strongroom_tenant_visible(tenant_id)"


def upgrade() -> None:
    op.create_table(
        "certificates",
        sa.Column("id", _ID, nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=2048), nullable=False),
        sa.Column("issuer", sa.String(length=2048), nullable=False),
        sa.Column("issuer_search", sa.String(length=2048), nullable=False),
        sa.Column("subject_hash", sa.String(length=64), nullable=False),
        sa.Column("issuer_hash", sa.String(length=64), nullable=False),
        sa.Column("serial", sa.String(length=128), nullable=False),
        sa.Column("key_algorithm", sa.String(length=16), nullable=False),
        sa.Column("key_size", sa.Integer(), nullable=False),
        sa.Column("not_before", _TS, nullable=False),
        sa.Column("not_after", _TS, nullable=False),
        sa.Column("is_ca", sa.Boolean(), nullable=False),
        sa.Column("ski", sa.String(length=128), nullable=True),
        sa.Column("aki", sa.String(length=128), nullable=True),
        sa.Column("spki_sha256", sa.String(length=64), nullable=False),
        sa.Column("der", sa.LargeBinary(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("issuer_id", _ID, nullable=True),
        sa.Column("renewed_from_id", _ID, nullable=True),
        sa.Column("key_reused", sa.Boolean(), nullable=False),
        sa.Column("has_key", sa.Boolean(), nullable=False),
        sa.Column("revoked_at", _TS, nullable=True),
        sa.Column("revocation_reason", sa.String(length=32), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["issuer_id"], ["certificates.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["renewed_from_id"], ["certificates.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tenant_id", "fingerprint", name="uq_certificates_tenant_fp"),
        sa.UniqueConstraint("renewed_from_id", name="uq_certificates_renewed_from"),
    )
    op.create_index(
        "ix_certificates_expiry", "certificates", ["tenant_id", "not_after", "fingerprint"]
    )
    op.create_index("ix_certificates_subject", "certificates", ["tenant_id", "subject_hash"])
    op.create_index("ix_certificates_issuer", "certificates", ["tenant_id", "issuer_hash"])
    op.create_index("ix_certificates_not_after", "certificates", ["not_after"])
    op.create_table(
        "certificate_sans",
        sa.Column("id", _ID, nullable=False),
        sa.Column("certificate_id", _ID, nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("value", sa.String(length=512), nullable=False),
        sa.ForeignKeyConstraint(["certificate_id"], ["certificates.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_certificate_sans_value", "certificate_sans", ["tenant_id", "value"])
    op.create_index("ix_certificate_sans_certificate_id", "certificate_sans", ["certificate_id"])
    op.create_table(
        "certificate_keys",
        sa.Column("certificate_id", _ID, nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(["certificate_id"], ["certificates.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("certificate_id"),
    )
    op.create_table(
        "certificate_authorities",
        sa.Column("id", _ID, nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("certificate_id", _ID, nullable=False),
        sa.Column("parent_id", _ID, nullable=True),
        sa.Column("sealed_key", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["certificate_id"], ["certificates.id"]),
        sa.ForeignKeyConstraint(["parent_id"], ["certificate_authorities.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tenant_id", "name", name="uq_cert_authorities_name"),
    )
    op.create_table(
        "certificate_roles",
        sa.Column("id", _ID, nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("authority_id", _ID, nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("policy", sa.JSON(), nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["authority_id"], ["certificate_authorities.id"], ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tenant_id", "authority_id", "name", name="uq_cert_roles_name"),
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
    for table in reversed(_TABLES):
        op.drop_table(table)
