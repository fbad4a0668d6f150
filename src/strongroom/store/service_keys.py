"""Rows of ``service_keys``: wrapped service-wide secrets (kms/secrets.py)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.exc import IntegrityError

from strongroom.store.db import Database
from strongroom.store.models import ServiceKey


class ServiceKeys:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, name: str) -> tuple[str, bytes] | None:
        """(KMS key reference, wrapped blob) of ``name``, if stored."""
        async with self._db.read() as s:
            row = await s.get(ServiceKey, name)
        return None if row is None else (row.kms_key_ref, row.wrapped)

    async def add(self, name: str, key_ref: str, blob: bytes) -> bool:
        """Store a new secret; False if another process stored one first."""
        row = ServiceKey(
            name=name,
            kms_key_ref=key_ref,
            wrapped=blob,
            created_at=datetime.now(UTC),
        )
        try:
            async with self._db.transaction() as s:
                s.add(row)
        except IntegrityError:  # another process created it meanwhile
            return False
        return True
