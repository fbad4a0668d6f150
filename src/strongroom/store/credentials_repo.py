"""SQL for stored API keys (credentials/). Functions take the caller's session (and
transaction). Every change to a key is a compare-and-set on its ``version``
(``claim``): the transaction's first write, so of racing writers that read the same
version exactly one wins (SQLite's write lock, PostgreSQL's row lock and re-check)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from strongroom.store.models import ApiKey, ApiKeyValue, Project


async def get_project(s: AsyncSession, tenant: str, name: str) -> Project | None:
    q = select(Project).where(Project.tenant_id == tenant, Project.name == name)
    return (await s.execute(q)).scalar_one_or_none()


async def list_projects(
    s: AsyncSession, tenant: str, after: str | None, limit: int
) -> list[tuple[Project, int]]:
    counts = (
        select(ApiKey.project_id, func.count().label("n"))
        .where(ApiKey.tenant_id == tenant)
        .group_by(ApiKey.project_id)
        .subquery()
    )
    q = (
        select(Project, func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.project_id == Project.id)
        .where(Project.tenant_id == tenant)
        .order_by(Project.name)
        .limit(limit)
    )
    if after is not None:
        q = q.where(Project.name > after)
    return [(p, int(n)) for p, n in (await s.execute(q)).all()]


async def count_keys(s: AsyncSession, project_id: int) -> int:
    q = select(func.count()).select_from(ApiKey).where(ApiKey.project_id == project_id)
    return int((await s.execute(q)).scalar_one())


async def delete_project(s: AsyncSession, project_id: int) -> None:
    await s.execute(delete(Project).where(Project.id == project_id))


async def get_key(
    s: AsyncSession, tenant: str, project: str, name: str
) -> tuple[ApiKey, Project] | None:
    q = (
        select(ApiKey, Project)
        .join(Project, Project.id == ApiKey.project_id)
        .where(Project.tenant_id == tenant, Project.name == project, ApiKey.name == name)
    )
    row = (await s.execute(q)).one_or_none()
    return (row[0], row[1]) if row is not None else None


async def get_key_by_id(s: AsyncSession, tenant: str, key_id: int) -> tuple[ApiKey, Project] | None:
    q = (
        select(ApiKey, Project)
        .join(Project, Project.id == ApiKey.project_id)
        .where(ApiKey.tenant_id == tenant, ApiKey.id == key_id)
    )
    row = (await s.execute(q)).one_or_none()
    return (row[0], row[1]) if row is not None else None


async def list_keys(
    s: AsyncSession, tenant: str, project_id: int | None, after: tuple[str, str] | None, limit: int
) -> list[tuple[ApiKey, Project]]:
    """Keys in (project, name) order after ``after``; one project or all of them."""
    q = (
        select(ApiKey, Project)
        .join(Project, Project.id == ApiKey.project_id)
        .where(ApiKey.tenant_id == tenant)
        .order_by(Project.name, ApiKey.name)
        .limit(limit)
    )
    if project_id is not None:
        q = q.where(ApiKey.project_id == project_id)
    if after is not None:
        p, k = after
        q = q.where(or_(Project.name > p, (Project.name == p) & (ApiKey.name > k)))
    return [(a, p) for a, p in (await s.execute(q)).all()]


async def claim(s: AsyncSession, key_id: int, version: int, **values: object) -> bool:
    """Move the key from ``version`` to ``version + 1`` with ``values``; False when
    another change came first."""
    q = (
        update(ApiKey)
        .where(ApiKey.id == key_id, ApiKey.version == version)
        .values(version=version + 1, **values)
        .execution_options(synchronize_session=False)
    )
    return bool((await s.execute(q)).rowcount)  # type: ignore[attr-defined]


async def put_value(
    s: AsyncSession, key_id: int, tenant: str, slot: str, sealed: bytes, now: datetime
) -> None:
    await s.execute(
        delete(ApiKeyValue).where(ApiKeyValue.key_id == key_id, ApiKeyValue.slot == slot)
    )
    s.add(ApiKeyValue(key_id=key_id, slot=slot, tenant_id=tenant, sealed=sealed, created_at=now))
    await s.flush()


async def delete_values(s: AsyncSession, key_id: int, slots: Sequence[str] | None = None) -> int:
    q = delete(ApiKeyValue).where(ApiKeyValue.key_id == key_id)
    if slots is not None:
        q = q.where(ApiKeyValue.slot.in_(slots))
    return int((await s.execute(q)).rowcount)  # type: ignore[attr-defined]


async def sealed_values(s: AsyncSession, key_id: int) -> dict[str, bytes]:
    q = select(ApiKeyValue.slot, ApiKeyValue.sealed).where(ApiKeyValue.key_id == key_id)
    return {slot: bytes(blob) for slot, blob in (await s.execute(q)).all()}


async def delete_key(s: AsyncSession, key_id: int) -> None:
    await s.execute(delete(ApiKey).where(ApiKey.id == key_id))


async def due(s: AsyncSession, horizon: datetime) -> list[tuple[ApiKey, Project]]:
    """Live keys whose expiry is before ``horizon``, or that have a rotation period
    (their due time is computed by the caller)."""
    q = (
        select(ApiKey, Project)
        .join(Project, Project.id == ApiKey.project_id)
        .where(
            ApiKey.state != "revoked",
            or_(ApiKey.expires_at <= horizon, ApiKey.rotate_after_days.is_not(None)),
        )
        .order_by(ApiKey.id)
    )
    return [(a, p) for a, p in (await s.execute(q)).all()]
