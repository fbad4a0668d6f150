"""Rows of ``tenant_data_keys``: each tenant's wrapped data keys (datakeys/)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from strongroom.store.db import Database
from strongroom.store.models import TenantDataKey


class DataKeyRows:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def newest(self, tenant: str) -> tuple[int, str, bytes] | None:
        """(version, KMS key reference, wrapped blob) of the tenant's newest data key."""
        q = (
            select(TenantDataKey.version, TenantDataKey.kms_key_ref, TenantDataKey.wrapped)
            .where(TenantDataKey.tenant_id == tenant)
            .order_by(TenantDataKey.version.desc())
            .limit(1)
        )
        async with self._db.read() as s:
            row = (await s.execute(q)).first()
        return None if row is None else (int(row[0]), str(row[1]), bytes(row[2]))

    async def get(self, tenant: str, version: int) -> tuple[str, bytes] | None:
        q = select(TenantDataKey.kms_key_ref, TenantDataKey.wrapped).where(
            TenantDataKey.tenant_id == tenant, TenantDataKey.version == version
        )
        async with self._db.read() as s:
            row = (await s.execute(q)).first()
        return None if row is None else (str(row[0]), bytes(row[1]))

    async def add(self, tenant: str, version: int, key_ref: str, blob: bytes) -> bool:
        """Store a new version; False if another process stored that version first."""
        row = TenantDataKey(
            tenant_id=tenant,
            version=version,
            kms_key_ref=key_ref,
            wrapped=blob,
            created_at=datetime.now(UTC),
        )
        try:
            async with self._db.transaction() as s:
                s.add(row)
        except IntegrityError:
            return False
        return True

    async def count(self) -> int:
        async with self._db.read() as s:
            return int((await s.execute(select(func.count(TenantDataKey.id)))).scalar_one())
