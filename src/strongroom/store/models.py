"""ORM models. Secret material lives only in ``key_material`` (wrapped by the KMS)
so that destroying a key is deleting rows, never editing them in place."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from strongroom.keys.models import MAX_USER_ID_LENGTH

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets BIGINT.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC on every backend (SQLite stores no offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is not None and dialect.name == "sqlite":
            return value.astimezone(UTC).replace(tzinfo=None)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if isinstance(value, datetime) and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value if isinstance(value, datetime) else None


class Base(DeclarativeBase):
    pass


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


class AccessKey(Base):
    __tablename__ = "access_keys"
    __table_args__ = (Index("ix_access_keys_tenant_id", "tenant_id", "id"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    roles: Mapped[list[str]] = mapped_column(JSON)
    description: Mapped[str] = mapped_column(String(500), default="")
    secret_hash: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Lifecycle (migration 0002). After a rotation the previous secret's hash keeps
    # working until previous_valid_until (grace); it is kept after that so a use of
    # the old secret is reported as "past-grace" rather than as a wrong secret.
    created_by: Mapped[str | None] = mapped_column(String(200))
    rotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    previous_secret_hash: Mapped[bytes | None] = mapped_column(LargeBinary)
    previous_valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Written in batches by access.usage, never per request.
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_used_addr: Mapped[str | None] = mapped_column(String(64))


class ServiceKey(Base):
    """Service-wide secrets (e.g. the access-key pepper), wrapped by the KMS."""

    __tablename__ = "service_keys"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    kms_key_ref: Mapped[str] = mapped_column(String(200))
    wrapped: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


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


class RevokedToken(Base):
    """Bearer tokens revoked by ``jti`` before they expire (access/revocation.py,
    migration 0004). ``id`` is SHA-256(issuer NUL jti): the jti itself is not kept."""

    __tablename__ = "revoked_tokens"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    issuer: Mapped[str] = mapped_column(String(200))
    # The token's own expiry, when given: after it the row is no longer needed.
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    revoked_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_by: Mapped[str] = mapped_column(String(200))
    tenant_id: Mapped[str] = mapped_column(String(64))


class CustomRole(Base):
    """A tenant's own role (access/roles.py, migration 0006): grants as
    ``[{"pattern": "keys:encrypt", "scope": "tenant"}]``. Built-in names are reserved."""

    __tablename__ = "custom_roles"
    __table_args__ = (UniqueConstraint("tenant_id", "name", name="uq_custom_roles_tenant_name"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(String(500), default="")
    grants: Mapped[list[dict[str, str]]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_by: Mapped[str] = mapped_column(String(200))
