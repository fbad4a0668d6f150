"""SQL for every row that holds KMS-wrapped material (for ``strongroom kms rewrap``).

Three tables hold wrapped material: ``key_material`` (one row per user key version),
``service_keys`` (service-wide secrets: the access-key pepper, the audit checkpoint
signing key) and ``audit_segments`` (each audit segment's first MAC key).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from strongroom.store.models import AuditSegment, KeyMaterial, ServiceKey, UserKey, UserKeyVersion


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


async def replace_user_material(
    s: AsyncSession, version_id: int, old_blob: bytes, key_ref: str, blob: bytes
) -> bool:
    """Compare-and-set: False if the row changed or was destroyed meanwhile."""
    q = (
        update(KeyMaterial)
        .where(KeyMaterial.version_id == version_id, KeyMaterial.wrapped == old_blob)
        .values(kms_key_ref=key_ref, wrapped=blob)
    )
    return bool((await s.execute(q)).rowcount)  # type: ignore[attr-defined]


async def service_keys_not_under(s: AsyncSession, key_ref: str) -> Sequence[ServiceKey]:
    q = select(ServiceKey).where(ServiceKey.kms_key_ref != key_ref).order_by(ServiceKey.name)
    return (await s.execute(q)).scalars().all()


async def replace_service_key(
    s: AsyncSession, name: str, old_blob: bytes, key_ref: str, blob: bytes
) -> bool:
    q = (
        update(ServiceKey)
        .where(ServiceKey.name == name, ServiceKey.wrapped == old_blob)
        .values(kms_key_ref=key_ref, wrapped=blob)
    )
    return bool((await s.execute(q)).rowcount)  # type: ignore[attr-defined]


async def segments_not_under(s: AsyncSession, key_ref: str) -> Sequence[AuditSegment]:
    q = select(AuditSegment).where(AuditSegment.kms_key_ref != key_ref)
    return (await s.execute(q.order_by(AuditSegment.segment_id))).scalars().all()


async def replace_segment_key(
    s: AsyncSession, segment_id: str, old_blob: bytes, key_ref: str, blob: bytes
) -> bool:
    """Only the wrapping changes (the PostgreSQL trigger allows nothing else)."""
    q = (
        update(AuditSegment)
        .where(AuditSegment.segment_id == segment_id, AuditSegment.wrapped_key == old_blob)
        .values(kms_key_ref=key_ref, wrapped_key=blob)
    )
    return bool((await s.execute(q)).rowcount)  # type: ignore[attr-defined]


async def count_by_key_ref(s: AsyncSession) -> dict[str, int]:
    """How many wrapped rows each root key reference holds (both tables)."""
    counts: dict[str, int] = {}
    for col in (KeyMaterial.kms_key_ref, ServiceKey.kms_key_ref, AuditSegment.kms_key_ref):
        for ref, n in (await s.execute(select(col, func.count()).group_by(col))).all():
            counts[ref] = counts.get(ref, 0) + int(n)
    return counts
