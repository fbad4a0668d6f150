"""The vault (secrets/, migration 0011). A secret's sealed values live only in
``secret_values``, one row per version, so destroying a version deletes a row rather
than editing one in place (with SQLite ``secure_delete`` and a WAL checkpoint, or a
PostgreSQL vacuum, the bytes leave the file too)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from strongroom.store.models.base import Base, BigId, UTCDateTime

MAX_PATH_LENGTH = 512


class Secret(Base):
    """One path of a tenant's vault: its settings and labels, never a value.

    ``latest_version`` is the newest version written (the compare-and-set counter of
    every write); ``current_version`` is the one a read without a version serves
    (the ``current`` staging label), ``pending_version`` and ``previous_version`` the
    other two labels (0: none)."""

    __tablename__ = "secrets"
    __table_args__ = (UniqueConstraint("tenant_id", "path", name="uq_secrets_tenant_path"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    path: Mapped[str] = mapped_column(String(MAX_PATH_LENGTH))
    latest_version: Mapped[int] = mapped_column(Integer)
    current_version: Mapped[int] = mapped_column(Integer)
    pending_version: Mapped[int] = mapped_column(Integer, default=0)
    previous_version: Mapped[int] = mapped_column(Integer, default=0)
    max_versions: Mapped[int] = mapped_column(Integer)
    delete_version_after: Mapped[int] = mapped_column(Integer, default=0)  # seconds; 0: never
    custom_metadata: Mapped[dict[str, str]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SecretVersion(Base):
    __tablename__ = "secret_versions"
    __table_args__ = (
        UniqueConstraint("secret_id", "version", name="uq_secret_versions"),
        # A retried write with the same request token finds its version (idempotency).
        UniqueConstraint("secret_id", "request_token", name="uq_secret_versions_token"),
        Index("ix_secret_versions_expires", "expires_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    secret_id: Mapped[int] = mapped_column(ForeignKey("secrets.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(200))
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    destroyed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    request_token: Mapped[str | None] = mapped_column(String(64))  # SHA-256 hex of it
    size: Mapped[int] = mapped_column(Integer)


class SecretValue(Base):
    """The sealed value of one version (datakeys.Sealer, bound to tenant, path,
    version and field)."""

    __tablename__ = "secret_values"

    version_id: Mapped[int] = mapped_column(
        ForeignKey("secret_versions.id", ondelete="CASCADE"), primary_key=True
    )
    sealed: Mapped[bytes] = mapped_column(LargeBinary)


class SecretMeta(Base):
    """``customMetadata`` as rows, for the listing's ``meta.k=v`` filter (the JSON on
    ``secrets`` is what reads show; both are written in one transaction)."""

    __tablename__ = "secret_meta"
    # Covering the listing filter: the ids come from the index alone.
    __table_args__ = (Index("ix_secret_meta_lookup", "tenant_id", "key", "value", "secret_id"),)

    secret_id: Mapped[int] = mapped_column(
        ForeignKey("secrets.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    value: Mapped[str] = mapped_column(String(512))
