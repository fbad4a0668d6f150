"""Service-wide secrets."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from strongroom.store.models.base import Base, UTCDateTime


class ServiceKey(Base):
    """Service-wide secrets (e.g. the access-key pepper), wrapped by the KMS."""

    __tablename__ = "service_keys"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    kms_key_ref: Mapped[str] = mapped_column(String(200))
    wrapped: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
