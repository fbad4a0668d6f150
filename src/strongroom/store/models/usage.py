"""Usage of stored API keys (credentials/usage.py): hourly counts and source addresses.

Both are tenant-owned (row-level security, migration 0016). ``key_id`` names a stored
key by its id; a key's rows outlive it until the retention purge (usage is history).
Counts only ever grow by upserts that add, so replicas flushing at once add up.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from strongroom.store.models.base import Base, UTCDateTime


class ApiKeyUsageHour(Base):
    """Uses of a key in one hour by one caller, kind, upstream host and status class
    (day totals are sums of these)."""

    __tablename__ = "api_key_usage_hours"
    __table_args__ = (Index("ix_api_key_usage_hours_hour", "hour"),)

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    key_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hour: Mapped[datetime] = mapped_column(UTCDateTime(), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    caller: Mapped[str] = mapped_column(String(200), primary_key=True)
    host: Mapped[str] = mapped_column(String(255), primary_key=True)  # "" when none
    status_class: Mapped[str] = mapped_column(String(8), primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger)


class ApiKeyUsageSource(Base):
    """A source address a key was used from: first and last seen, and by whom last.
    The newest row of a key is its "last used" (``source`` "" when unknown)."""

    __tablename__ = "api_key_usage_sources"
    __table_args__ = (Index("ix_api_key_usage_sources_last", "tenant_id", "key_id", "last_at"),)

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    key_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    source: Mapped[str] = mapped_column(String(64), primary_key=True)
    first_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_caller: Mapped[str] = mapped_column(String(200))
