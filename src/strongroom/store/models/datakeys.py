"""Per-tenant data keys (datakeys/) and the once-only notices (store/notices.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from strongroom.store.models.base import Base, BigId, UTCDateTime


class TenantDataKey(Base):
    """One version of a tenant's data key, wrapped by the KMS. Append-only for the
    serving role; ``kms rewrap`` (the schema owner) replaces the blob in place."""

    __tablename__ = "tenant_data_keys"
    __table_args__ = (UniqueConstraint("tenant_id", "version", name="uq_tenant_data_keys"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    kms_key_ref: Mapped[str] = mapped_column(String(200))
    wrapped: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class NoticeSent(Base):
    """A reminder or alert that was sent: its unique key makes "once per threshold"
    hold across replicas (the first insert wins)."""

    __tablename__ = "notices_sent"
    __table_args__ = (
        UniqueConstraint("tenant_id", "kind", "subject", "threshold", name="uq_notices_sent"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(512))
    threshold: Mapped[str] = mapped_column(String(64))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime())
