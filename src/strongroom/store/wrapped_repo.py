"""SQL for every row that holds KMS-wrapped material (for ``strongroom kms rewrap``).

Four tables hold wrapped material: ``key_material`` (one row per user key version),
``service_keys`` (service-wide secrets: the access-key pepper, the audit checkpoint
signing key), ``audit_segments`` (each audit segment's first MAC key) and
``tenant_data_keys`` (each tenant's data keys, which seal secrets: datakeys/).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from strongroom.store.models import (
    AuditSegment,
    KeyMaterial,
    ServiceKey,
    TenantDataKey,
    UserKey,
    UserKeyVersion,
)


@dataclass(frozen=True)
class UserMaterialRow:
    version_id: int
    tenant: str
    user_id: str
    version: int
    key_type: str
    kms_key_ref: str
    wrapped: bytes

    def __str__(self) -> str:  # names the row in reports; the blob stays out
        return f"{self.tenant}/{self.user_id}/v{self.version}"


async def user_material_not_under(
    s: AsyncSession, key_ref: str, after_id: int, limit: int
) -> Sequence[UserMaterialRow]:
    """User key material not wrapped under ``key_ref``, in id order after ``after_id``."""
    q = (
        select(
            KeyMaterial.version_id,
            UserKey.tenant_id,
            UserKey.user_id,
            UserKeyVersion.version,
            UserKey.key_type,
            KeyMaterial.kms_key_ref,
            KeyMaterial.wrapped,
        )
        .join(UserKeyVersion, UserKeyVersion.id == KeyMaterial.version_id)
        .join(UserKey, UserKey.id == UserKeyVersion.key_id)
        .where(KeyMaterial.kms_key_ref != key_ref, KeyMaterial.version_id > after_id)
        .order_by(KeyMaterial.version_id)
        .limit(limit)
    )
    return [UserMaterialRow(*row) for row in (await s.execute(q)).all()]


# Where each kind of wrapped row keeps its id and its blob.
_KINDS: dict[str, tuple[Any, Any, Any]] = {
    "user_material": (KeyMaterial, KeyMaterial.version_id, KeyMaterial.wrapped),
    "service_key": (ServiceKey, ServiceKey.name, ServiceKey.wrapped),
    "audit_segment": (AuditSegment, AuditSegment.segment_id, AuditSegment.wrapped_key),
    "tenant_data_key": (TenantDataKey, TenantDataKey.id, TenantDataKey.wrapped),
}


@dataclass(frozen=True)
class WrappedRow:
    """A service key, an audit segment key or a tenant data key: few rows, read in one
    go. ``tenant`` and ``version`` only for tenant data keys (their wrap context)."""

    kind: str
    ident: str
    kms_key_ref: str
    wrapped: bytes
    tenant: str = ""
    version: int = 0


async def small_rows_not_under(s: AsyncSession, key_ref: str) -> list[WrappedRow]:
    """Service keys, audit segment keys and tenant data keys not under ``key_ref``."""
    out: list[WrappedRow] = []
    for kind in ("service_key", "audit_segment"):
        table, ident, blob = _KINDS[kind]
        q = select(ident, table.kms_key_ref, blob).where(table.kms_key_ref != key_ref)
        rows = (await s.execute(q.order_by(ident))).all()
        out += [WrappedRow(kind, str(i), ref, bytes(b)) for i, ref, b in rows]
    t = TenantDataKey
    q = select(t.id, t.kms_key_ref, t.wrapped, t.tenant_id, t.version)
    for i, ref, b, tenant, version in (
        await s.execute(q.where(t.kms_key_ref != key_ref).order_by(t.id))
    ).all():
        out.append(WrappedRow("tenant_data_key", str(i), ref, bytes(b), tenant, version))
    return out


async def replace(
    s: AsyncSession, kind: str, ident: str | int, old_blob: bytes, key_ref: str, blob: bytes
) -> bool:
    """Compare-and-set on the old blob: False if the row changed or was destroyed
    meanwhile (for audit segments, the PostgreSQL trigger allows only this update)."""
    table, id_col, blob_col = _KINDS[kind]
    if kind == "tenant_data_key":
        ident = int(ident)
    q = (
        update(table)
        .where(id_col == ident, blob_col == old_blob)
        .values({"kms_key_ref": key_ref, blob_col.key: blob})
    )
    return bool((await s.execute(q)).rowcount)  # type: ignore[attr-defined]


async def count_by_key_ref(s: AsyncSession) -> dict[str, int]:
    """How many wrapped rows each root key reference holds (every table)."""
    counts: dict[str, int] = {}
    cols = (
        KeyMaterial.kms_key_ref,
        ServiceKey.kms_key_ref,
        AuditSegment.kms_key_ref,
        TenantDataKey.kms_key_ref,
    )
    for col in cols:
        for ref, n in (await s.execute(select(col, func.count()).group_by(col))).all():
            counts[ref] = counts.get(ref, 0) + int(n)
    return counts
