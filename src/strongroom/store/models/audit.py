"""The audit trail: records, writer segments, signed checkpoints (all append-only)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from strongroom.store.models.base import Base, BigId, UTCDateTime


class AuditRecord(Base):
    """Append-only. Holds counts and identifiers, never plaintext, ciphertext or secrets."""

    __tablename__ = "audit_records"
    __table_args__ = (
        Index("ix_audit_tenant_time", "tenant_id", "ts"),
        Index("ux_audit_segment_seq", "segment_id", "seq", unique=True),
        # Auditors' filters (migration 0005).
        Index("ix_audit_ts", "ts"),
        Index("ix_audit_actor_ts", "actor", "ts"),
        Index("ix_audit_action_ts", "action", "ts"),
        Index("ix_audit_target", "target"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    ts: Mapped[datetime] = mapped_column(UTCDateTime())
    request_id: Mapped[str] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(200))
    tenant_id: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str | None] = mapped_column(String(200))
    outcome: Mapped[str] = mapped_column(String(16))
    item_count: Mapped[int | None] = mapped_column(Integer)
    client_addr: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict[str, object] | None] = mapped_column(JSON)
    # Chain fields (migration 0003, audit/chain.py); NULL only on records written
    # before the chain existed.
    segment_id: Mapped[str | None] = mapped_column(String(32))
    seq: Mapped[int | None] = mapped_column(BigInteger)
    prev_hash: Mapped[bytes | None] = mapped_column(LargeBinary)
    hash: Mapped[bytes | None] = mapped_column(LargeBinary)
    mac: Mapped[bytes | None] = mapped_column(LargeBinary)


class AuditSegment(Base):
    """One per writer process. Append-only. ``wrapped_key`` is the chain's first MAC
    key k0 wrapped by the KMS: only a verifier with KMS access can recompute the MACs."""

    __tablename__ = "audit_segments"

    segment_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    writer: Mapped[str] = mapped_column(String(200))
    kms_key_ref: Mapped[str] = mapped_column(String(200))
    wrapped_key: Mapped[bytes] = mapped_column(LargeBinary)


class AuditCheckpoint(Base):
    """Signed heads of the segments (audit/checkpoints.py). Append-only."""

    __tablename__ = "audit_checkpoints"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    number: Mapped[int] = mapped_column(BigInteger, unique=True)
    ts: Mapped[datetime] = mapped_column(UTCDateTime())
    key_id: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)
    signature: Mapped[bytes] = mapped_column(LargeBinary)
