"""Shares of one value (secrets/shares.py, migration 0012): a one-time (or few-times)
link to a value, sealed under the tenant's data key and bound to the share's id.

The holder's token is never stored, only its keyed hash (``token_hash``); ``id`` is
the creator's handle for listing and revoking and is never handed to a holder.
``sealed`` is wiped (NULL) the moment a share ends (used up, revoked, expired,
locked); the row itself is purged later. A share of a vault version that is deleted
or destroyed is deleted with it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from strongroom.store.models.base import Base, BigId, UTCDateTime


class Share(Base):
    __tablename__ = "shares"
    __table_args__ = (
        Index("ix_shares_tenant_created", "tenant_id", "created_at"),
        Index("ix_shares_source", "tenant_id", "source_path", "source_version"),
        Index("ix_shares_token_hash", "token_hash", unique=True),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    token_hash: Mapped[bytes] = mapped_column(LargeBinary)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    max_views: Mapped[int] = mapped_column(Integer)
    views_left: Mapped[int] = mapped_column(Integer)
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer)
    # PHC string of the passphrase hash: algorithm and parameters travel with it.
    passphrase_hash: Mapped[str | None] = mapped_column(String(300))
    sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    encoding: Mapped[str] = mapped_column(String(16))  # "utf-8" or "base64"
    client_encrypted: Mapped[bool] = mapped_column(Boolean, default=False)
    source_path: Mapped[str | None] = mapped_column(String(512))
    source_version: Mapped[int | None] = mapped_column(Integer)
    tenant_only: Mapped[bool] = mapped_column(Boolean, default=False)
    allowed_principals: Mapped[list[str] | None] = mapped_column(JSON)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # used | revoked | expired | locked (a share of a deleted vault version is deleted)
    end_reason: Mapped[str | None] = mapped_column(String(16))
    last_access_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ShareAccess(Base):
    """One redeem attempt that reached a live share: when, by whom, how it ended. No
    value, passphrase or token; the client address is in the audit record of
    ``request_id`` (kept there as a keyed tag where the operator asks for that)."""

    __tablename__ = "share_accesses"
    __table_args__ = (Index("ix_share_accesses_share", "share_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    share_id: Mapped[str] = mapped_column(String(32), ForeignKey("shares.id", ondelete="CASCADE"))
    tenant_id: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    outcome: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(200))
    request_id: Mapped[str] = mapped_column(String(64))
