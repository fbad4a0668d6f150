"""Idempotency keys (idempotency/, migration 0018): one row per (tenant, principal,
key), in flight until its first answer is stored (``status`` set). Tenant-owned (row-
level security). ``response`` is sealed under the tenant's data key: an answer can
carry a new access key, a share token or a revealed value."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from strongroom.store.models.base import Base, BigId, UTCDateTime


class IdempotencyKey(Base):
    __tablename__ = "idempotency_keys"
    __table_args__ = (
        UniqueConstraint("tenant_id", "principal", "idem_key", name="uq_idempotency_keys_key"),
        Index("ix_idempotency_keys_expiry", "expires_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    principal: Mapped[str] = mapped_column(String(200))
    idem_key: Mapped[str] = mapped_column(String(255))
    fingerprint: Mapped[str] = mapped_column(String(64))  # SHA-256: method, path, body
    status: Mapped[int | None] = mapped_column(Integer, nullable=True)  # None: in flight
    response: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)  # sealed
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
