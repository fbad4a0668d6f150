"""State the replicas share to act as one (store/cluster.py): leases and counters.

Neither table is tenant-owned (like the audit tables, they span every tenant), so
neither has row-level security; names are job names or hashes, never identifiers
in clear.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from strongroom.store.models.base import Base, UTCDateTime


class ClusterLease(Base):
    """A named lease: a scheduled job (``next_run_at`` is the start of the next
    period it is due in) or a "once per period" claim (security events)."""

    __tablename__ = "cluster_leases"

    name: Mapped[str] = mapped_column(String(120), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(120), nullable=True)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    next_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class ClusterCounter(Base):
    """Events counted per fixed window (``window`` = epoch seconds // length)."""

    __tablename__ = "cluster_counters"

    name: Mapped[str] = mapped_column(String(120), primary_key=True)
    window: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    count: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
