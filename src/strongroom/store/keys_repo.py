"""SQL for per-user keys. Functions take the caller's session (and transaction)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from strongroom.store.models import (
    KeyMaterial,
    KeyTombstone,
    UserKey,
    UserKeyHistory,
    UserKeyVersion,
)


async def get_key(s: AsyncSession, tenant: str, user_id: str) -> UserKey | None:
    q = select(UserKey).where(UserKey.tenant_id == tenant, UserKey.user_id == user_id)
    return (await s.execute(q)).scalar_one_or_none()


async def changed_since(s: AsyncSession, since: datetime) -> Sequence[tuple[str, str, int]]:
    """(tenant, userId, generation) of keys whose row changed at or after ``since``."""
    q = select(UserKey.tenant_id, UserKey.user_id, UserKey.generation).where(
        UserKey.updated_at >= since
    )
    return [(t, u, int(g)) for t, u, g in (await s.execute(q)).all()]


async def get_versions(s: AsyncSession, key_id: int) -> Sequence[UserKeyVersion]:
    q = select(UserKeyVersion).where(UserKeyVersion.key_id == key_id)
    return (await s.execute(q.order_by(UserKeyVersion.version))).scalars().all()


async def get_material(s: AsyncSession, key_id: int, version: int) -> KeyMaterial | None:
    q = (
        select(KeyMaterial)
        .join(UserKeyVersion, UserKeyVersion.id == KeyMaterial.version_id)
        .where(UserKeyVersion.key_id == key_id, UserKeyVersion.version == version)
    )
    return (await s.execute(q)).scalar_one_or_none()


async def add_version(
    s: AsyncSession,
    key_id: int,
    version: int,
    public_key: bytes | None,
    kms_key_ref: str,
    wrapped: bytes,
    now: datetime,
) -> None:
    row = UserKeyVersion(
        key_id=key_id, version=version, public_key=public_key, state="active", created_at=now
    )
    s.add(row)
    await s.flush()
    s.add(KeyMaterial(version_id=row.id, kms_key_ref=kms_key_ref, wrapped=wrapped))


def add_history(
    s: AsyncSession,
    key_id: int,
    version: int,
    event: str,
    reason: str | None,
    actor: str,
    now: datetime,
) -> None:
    s.add(
        UserKeyHistory(
            key_id=key_id,
            version=version,
            event=event,
            rotation_reason=reason,
            actor=actor,
            rotation_date=now,
        )
    )


# Columns a scheduled change may require to be due (``<= now``) under its claim.
DUE_COLUMNS = {"next_rotation_at": UserKey.next_rotation_at, "deletion_date": UserKey.deletion_date}


async def compare_and_set(
    s: AsyncSession,
    key_id: int,
    expect_version: int,
    expect_state: str,
    values: Mapping[str, object],
    due: tuple[str, datetime] | None = None,
) -> bool:
    """Update the key row only if it still has the version and state the caller read
    (and, with ``due=(column, now)``, only if that column is still ``<= now``: a
    scheduled rotation or destruction that another replica already did, or that was
    rescheduled meanwhile, is no longer due and changes nothing).

    This is the first write of its transaction, so on SQLite it takes the write
    lock before any read snapshot exists, and on PostgreSQL it waits on the row
    lock and re-checks the condition: of two racing rotations exactly one wins.
    """
    q = (
        update(UserKey)
        .where(
            UserKey.id == key_id,
            UserKey.current_version == expect_version,
            UserKey.state == expect_state,
        )
        .values(generation=UserKey.generation + 1, **values)
    )
    if due is not None:
        q = q.where(DUE_COLUMNS[due[0]] <= due[1])
    result = await s.execute(q)
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


async def history(s: AsyncSession, key_id: int) -> Sequence[UserKeyHistory]:
    q = select(UserKeyHistory).where(UserKeyHistory.key_id == key_id)
    return (await s.execute(q.order_by(UserKeyHistory.id))).scalars().all()


async def due_for_rotation(s: AsyncSession, now: datetime, limit: int = 500) -> Sequence[UserKey]:
    q = select(UserKey).where(UserKey.state == "enabled", UserKey.next_rotation_at <= now)
    return (await s.execute(q.order_by(UserKey.next_rotation_at).limit(limit))).scalars().all()


async def due_for_destruction(s: AsyncSession, now: datetime) -> Sequence[UserKey]:
    q = select(UserKey).where(UserKey.state == "pending_deletion", UserKey.deletion_date <= now)
    return (await s.execute(q)).scalars().all()


async def destroy_material(s: AsyncSession, key_id: int, now: datetime) -> list[int]:
    """Delete every version's wrapped material; returns the destroyed version numbers."""
    versions = (
        (
            await s.execute(
                select(UserKeyVersion).where(
                    UserKeyVersion.key_id == key_id, UserKeyVersion.state == "active"
                )
            )
        )
        .scalars()
        .all()
    )
    ids = [v.id for v in versions]
    if ids:
        await s.execute(delete(KeyMaterial).where(KeyMaterial.version_id.in_(ids)))
        await s.execute(
            update(UserKeyVersion)
            .where(UserKeyVersion.id.in_(ids))
            .values(state="destroyed", destroyed_at=now)
        )
    return [v.version for v in versions]


def add_tombstone(
    s: AsyncSession, tenant: str, user_id: str, versions: list[int], now: datetime
) -> None:
    s.add(KeyTombstone(tenant_id=tenant, user_id=user_id, versions=versions, destroyed_at=now))


async def insert_key(
    s: AsyncSession, tenant: str, user_id: str, now: datetime, **values: object
) -> int:
    """A new key row (generation 1); returns its id. A duplicate (tenant, userId)
    raises ``IntegrityError`` here, at the flush."""
    row = UserKey(tenant_id=tenant, user_id=user_id, created_at=now, generation=1, **values)
    s.add(row)
    await s.flush()
    return row.id
