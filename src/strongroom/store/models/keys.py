"""Per-user keys. Secret material lives only in ``key_material`` (wrapped by the KMS)
so that destroying a key is deleting rows, never editing them in place."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from strongroom.store.models.base import Base, BigId, UTCDateTime

# The longest user id a key can have: the columns hold it, the API refuses longer ones
# (keys/models.py re-exports it for the domain and the schemas).
MAX_USER_ID_LENGTH = 200
# The characters a user id may have (the API's check; a token's own-key claim too).
USER_ID_PATTERN = r"^[A-Za-z0-9._@:+=-]+$"


class UserKey(Base):
    """One logical key per (tenant, userId). ``generation`` is bumped in the same
    transaction as any rotation, deletion or policy change (cache validity)."""

    __tablename__ = "user_keys"
    __table_args__ = (
        UniqueConstraint("tenant_id", "user_id", name="uq_user_keys_tenant_user"),
        Index("ix_user_keys_state", "state", "tenant_id", "user_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[str] = mapped_column(String(MAX_USER_ID_LENGTH))
    key_type: Mapped[str] = mapped_column(String(32))
    current_version: Mapped[int] = mapped_column(Integer)
    min_decryption_version: Mapped[int] = mapped_column(Integer, default=1)
    rotation_period_days: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(20))
    deletion_date: Mapped[datetime | None] = mapped_column(UTCDateTime())
    generation: Mapped[int] = mapped_column(BigInteger, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_rotated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    next_rotation_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class UserKeyVersion(Base):
    __tablename__ = "user_key_versions"
    __table_args__ = (UniqueConstraint("key_id", "version", name="uq_versions_key_version"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    key_id: Mapped[int] = mapped_column(ForeignKey("user_keys.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    public_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    state: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    destroyed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class KeyMaterial(Base):
    """Wrapped private (or symmetric) material of one key version."""

    __tablename__ = "key_material"

    version_id: Mapped[int] = mapped_column(
        ForeignKey("user_key_versions.id", ondelete="CASCADE"), primary_key=True
    )
    kms_key_ref: Mapped[str] = mapped_column(String(200))
    wrapped: Mapped[bytes] = mapped_column(LargeBinary)


class UserKeyHistory(Base):
    __tablename__ = "user_key_history"
    __table_args__ = (Index("ix_history_key_date", "key_id", "rotation_date"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    key_id: Mapped[int] = mapped_column(ForeignKey("user_keys.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    event: Mapped[str] = mapped_column(String(32))
    rotation_reason: Mapped[str | None] = mapped_column(String(50))
    actor: Mapped[str] = mapped_column(String(200))
    rotation_date: Mapped[datetime] = mapped_column(UTCDateTime())


class KeyTombstone(Base):
    """Survives destruction so a restore from an older backup can re-apply it."""

    __tablename__ = "key_tombstones"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[str] = mapped_column(String(MAX_USER_ID_LENGTH))
    versions: Mapped[list[int]] = mapped_column(JSON)
    destroyed_at: Mapped[datetime] = mapped_column(UTCDateTime())
