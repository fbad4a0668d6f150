"""Stored third-party API keys (credentials/, migration 0015). Sealed values live only
in ``api_key_values``, one row per slot, so a revoked or deleted value leaves the
database by deleting a row rather than by editing one in place."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from strongroom.store.models.base import Base, BigId, UTCDateTime


class Project(Base):
    __tablename__ = "projects"
    __table_args__ = (UniqueConstraint("tenant_id", "name", name="uq_projects_tenant_name"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(String(512))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(200))


class ApiKey(Base):
    """One stored key: everything but its value. ``version`` is the compare-and-set
    counter every change bumps (a PATCH may name the version it read)."""

    __tablename__ = "api_keys"
    __table_args__ = (
        UniqueConstraint("tenant_id", "project_id", "name", name="uq_api_keys_name"),
        Index("ix_api_keys_project", "project_id", "name"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    name: Mapped[str] = mapped_column(String(64))
    provider: Mapped[str] = mapped_column(String(64))
    hosts: Mapped[list[str]] = mapped_column(JSON)
    allowed_networks: Mapped[list[str]] = mapped_column(JSON)
    injection_kind: Mapped[str] = mapped_column(String(8))
    injection_name: Mapped[str] = mapped_column(String(128))
    injection_template: Mapped[str] = mapped_column(String(256))
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    rotate_after_days: Mapped[int | None] = mapped_column(Integer)
    rotated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The previous slot serves (is scrubbed, stays valid upstream) until then.
    previous_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    rotation_hook: Mapped[str | None] = mapped_column(String(64))
    rotation_token: Mapped[str | None] = mapped_column(String(64))  # SHA-256 hex
    owners: Mapped[list[str]] = mapped_column(JSON)
    tags: Mapped[dict[str, str]] = mapped_column(JSON)
    sensitivity: Mapped[str] = mapped_column(String(8))
    state: Mapped[str] = mapped_column(String(8))
    state_reason: Mapped[str | None] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ApiKeyValue(Base):
    """A sealed value (datakeys.Sealer, purpose api-key, bound to tenant, project,
    key name, key id and slot)."""

    __tablename__ = "api_key_values"

    key_id: Mapped[int] = mapped_column(
        ForeignKey("api_keys.id", ondelete="CASCADE"), primary_key=True
    )
    slot: Mapped[str] = mapped_column(String(8), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
