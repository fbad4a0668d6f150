"""Certificates (pki/): the inventory, their subject alternative names, sealed private
keys, and the internal CA's authorities and roles (migration 0013).

A certificate row is one immutable version: its DER and everything indexed from it
never change. Only its links (the issuer found later, ``issuer_id``), the stored key
(``has_key``) and revocation are set after import. ``renewed_from_id`` is written at
import and unique, so the lineage is a line; ``renewedBy`` is the reverse link.
Private keys live apart, sealed (datakeys ``Purpose.PKI_KEY``), never in clear."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from strongroom.store.models.base import Base, BigId, UTCDateTime


class Certificate(Base):
    __tablename__ = "certificates"
    __table_args__ = (
        UniqueConstraint("tenant_id", "fingerprint", name="uq_certificates_tenant_fp"),
        UniqueConstraint("renewed_from_id", name="uq_certificates_renewed_from"),
        Index("ix_certificates_expiry", "tenant_id", "not_after", "fingerprint"),
        Index("ix_certificates_subject", "tenant_id", "subject_hash"),
        Index("ix_certificates_issuer", "tenant_id", "issuer_hash"),
        Index("ix_certificates_not_after", "not_after"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    fingerprint: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(2048))
    issuer: Mapped[str] = mapped_column(String(2048))
    issuer_search: Mapped[str] = mapped_column(String(2048))  # lower-case, for ?issuer=
    subject_hash: Mapped[str] = mapped_column(String(64))
    issuer_hash: Mapped[str] = mapped_column(String(64))
    serial: Mapped[str] = mapped_column(String(128))
    key_algorithm: Mapped[str] = mapped_column(String(16))
    key_size: Mapped[int] = mapped_column(Integer)
    not_before: Mapped[datetime] = mapped_column(UTCDateTime())
    not_after: Mapped[datetime] = mapped_column(UTCDateTime())
    is_ca: Mapped[bool] = mapped_column(Boolean)
    ski: Mapped[str | None] = mapped_column(String(128))
    aki: Mapped[str | None] = mapped_column(String(128))
    spki_sha256: Mapped[str] = mapped_column(String(64))
    der: Mapped[bytes] = mapped_column(LargeBinary)
    source: Mapped[str] = mapped_column(String(16))  # import | issued | authority
    issuer_id: Mapped[int | None] = mapped_column(
        ForeignKey("certificates.id", ondelete="SET NULL")
    )
    renewed_from_id: Mapped[int | None] = mapped_column(
        ForeignKey("certificates.id", ondelete="SET NULL")
    )
    key_reused: Mapped[bool] = mapped_column(Boolean, default=False)
    has_key: Mapped[bool] = mapped_column(Boolean, default=False)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revocation_reason: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(200))


class CertificateSan(Base):
    __tablename__ = "certificate_sans"
    __table_args__ = (Index("ix_certificate_sans_value", "tenant_id", "value"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    certificate_id: Mapped[int] = mapped_column(
        ForeignKey("certificates.id", ondelete="CASCADE"), index=True
    )
    tenant_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(8))
    value: Mapped[str] = mapped_column(String(512))


class CertificateKey(Base):
    """A certificate's private key, sealed under the tenant's data key with the
    certificate's fingerprint bound (a blob moved to another row fails to open)."""

    __tablename__ = "certificate_keys"

    certificate_id: Mapped[int] = mapped_column(
        ForeignKey("certificates.id", ondelete="CASCADE"), primary_key=True
    )
    tenant_id: Mapped[str] = mapped_column(String(64))
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CertificateAuthority(Base):
    """A tenant's internal CA: its certificate (in the inventory) and its key, sealed."""

    __tablename__ = "certificate_authorities"
    __table_args__ = (UniqueConstraint("tenant_id", "name", name="uq_cert_authorities_name"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(64))
    certificate_id: Mapped[int] = mapped_column(ForeignKey("certificates.id"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("certificate_authorities.id"))
    sealed_key: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(200))


class CertificateRole(Base):
    """What one CA may issue under a role name: ``policy`` as pki/policy.py reads it."""

    __tablename__ = "certificate_roles"
    __table_args__ = (
        UniqueConstraint("tenant_id", "authority_id", "name", name="uq_cert_roles_name"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    authority_id: Mapped[int] = mapped_column(
        ForeignKey("certificate_authorities.id", ondelete="CASCADE")
    )
    name: Mapped[str] = mapped_column(String(64))
    policy: Mapped[dict[str, object]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_by: Mapped[str] = mapped_column(String(200))
