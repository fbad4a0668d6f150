"""Access control: access keys, revoked bearer tokens, custom roles."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Index, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from strongroom.store.models.base import Base, BigId, UTCDateTime


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


class RevokedToken(Base):
    """Bearer tokens revoked by ``jti`` before they expire (access/revocation.py,
    migrations 0004 and 0008). ``id`` is SHA-256(issuer NUL jti): the jti itself is not
    kept. ``tenant_id`` is the tenant whose tokens the revocation applies to (``*``:
    every tenant, from a principal spanning tenants); one token may be revoked in
    several tenants, hence the pair as key. Tenant-owned (row-level security)."""

    __tablename__ = "revoked_tokens"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    issuer: Mapped[str] = mapped_column(String(200))
    # The token's own expiry, when given: after it the row is no longer needed.
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    revoked_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_by: Mapped[str] = mapped_column(String(200))


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
