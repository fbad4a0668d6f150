"""Queries of stored API keys' usage (credentials/usage.py): batched upserts that add,
and the reads of the usage route, the anomaly rules and the risk score.

Each write is ONE statement however many rows it carries (a multi-row INSERT ... ON
CONFLICT DO UPDATE), up to ``CHUNK`` rows; rows are unique within a statement (the
recorder aggregates them first), as PostgreSQL requires of an upsert.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Table, case, delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from strongroom.store.models import ApiKeyUsageHour, ApiKeyUsageSource, AuditRecord

CHUNK = 1000  # rows per statement: 8 parameters each, well under both drivers' limits
_HOURS: Table = ApiKeyUsageHour.__table__  # type: ignore[assignment]
_SOURCES: Table = ApiKeyUsageSource.__table__  # type: ignore[assignment]
_HOUR_KEY = ["tenant_id", "key_id", "hour", "kind", "caller", "host", "status_class"]


def _insert(s: AsyncSession, table: Table) -> Any:
    return pg_insert(table) if s.get_bind().dialect.name == "postgresql" else sqlite_insert(table)


async def add_hours(s: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Add each row's ``count`` to its hour (created at that count when new)."""
    for i in range(0, len(rows), CHUNK):
        stmt = _insert(s, _HOURS).values(list(rows[i : i + CHUNK]))
        stmt = stmt.on_conflict_do_update(
            index_elements=_HOUR_KEY, set_={"count": _HOURS.c.count + stmt.excluded.count}
        )
        await s.execute(stmt)


async def touch_sources(s: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Upsert (tenant, key, source) with ``first_at``/``last_at``/``last_caller``: the
    earliest first and the latest last win, so replicas flushing in any order agree."""
    c = _SOURCES.c
    for i in range(0, len(rows), CHUNK):
        stmt = _insert(s, _SOURCES).values(list(rows[i : i + CHUNK]))
        new = stmt.excluded
        newer = new.last_at > c.last_at
        stmt = stmt.on_conflict_do_update(
            index_elements=["tenant_id", "key_id", "source"],
            set_={
                "first_at": case((new.first_at < c.first_at, new.first_at), else_=c.first_at),
                "last_at": case((newer, new.last_at), else_=c.last_at),
                "last_caller": case((newer, new.last_caller), else_=c.last_caller),
            },
        )
        await s.execute(stmt)


async def hours(
    s: AsyncSession, tenant: str, key_id: int, start: datetime, end: datetime
) -> list[ApiKeyUsageHour]:
    """The key's hour rows with ``start <= hour < end``."""
    q = select(ApiKeyUsageHour).where(
        ApiKeyUsageHour.tenant_id == tenant,
        ApiKeyUsageHour.key_id == key_id,
        ApiKeyUsageHour.hour >= start,
        ApiKeyUsageHour.hour < end,
    )
    return list((await s.execute(q)).scalars())


async def hour_totals(
    s: AsyncSession, tenant: str, key_id: int, since: datetime
) -> list[tuple[datetime, int]]:
    """(hour, uses) of the key since ``since`` (the off-hours rule's history)."""
    q = (
        select(ApiKeyUsageHour.hour, func.sum(ApiKeyUsageHour.count))
        .where(
            ApiKeyUsageHour.tenant_id == tenant,
            ApiKeyUsageHour.key_id == key_id,
            ApiKeyUsageHour.hour >= since,
        )
        .group_by(ApiKeyUsageHour.hour)
    )
    return [(h, int(n)) for h, n in (await s.execute(q)).all()]


async def sources(s: AsyncSession, tenant: str, key_id: int, limit: int) -> list[ApiKeyUsageSource]:
    """The key's most recently seen source addresses, newest first."""
    q = (
        select(ApiKeyUsageSource)
        .where(ApiKeyUsageSource.tenant_id == tenant, ApiKeyUsageSource.key_id == key_id)
        .order_by(ApiKeyUsageSource.last_at.desc(), ApiKeyUsageSource.source)
        .limit(limit)
    )
    return list((await s.execute(q)).scalars())


async def has_used(
    s: AsyncSession,
    tenant: str,
    key_id: int,
    caller: str | None,
    before_hour: datetime | None = None,
) -> bool:
    """Whether ``caller`` (None: anyone) has a counted use of the key (in an hour
    before ``before_hour``, when given)."""
    q = select(ApiKeyUsageHour.count).where(
        ApiKeyUsageHour.tenant_id == tenant, ApiKeyUsageHour.key_id == key_id
    )
    if caller is not None:
        q = q.where(ApiKeyUsageHour.caller == caller)
    if before_hour is not None:
        q = q.where(ApiKeyUsageHour.hour < before_hour)
    return (await s.execute(q.limit(1))).first() is not None


async def seen_source(
    s: AsyncSession, tenant: str, key_id: int, source: str | None, before: datetime
) -> bool:
    """Whether the key was used from ``source`` (None: from any known address) before
    ``before``."""
    q = select(ApiKeyUsageSource.source).where(
        ApiKeyUsageSource.tenant_id == tenant,
        ApiKeyUsageSource.key_id == key_id,
        ApiKeyUsageSource.first_at < before,
    )
    if source is not None:
        q = q.where(ApiKeyUsageSource.source == source)
    else:
        q = q.where(ApiKeyUsageSource.source != "")
    return (await s.execute(q.limit(1))).first() is not None


async def purge(s: AsyncSession, before: datetime) -> int:
    """Delete hours and source addresses older than ``before`` (every tenant)."""
    counts = await s.execute(delete(ApiKeyUsageHour).where(ApiKeyUsageHour.hour < before))
    seen = await s.execute(delete(ApiKeyUsageSource).where(ApiKeyUsageSource.last_at < before))
    return int(counts.rowcount + seen.rowcount)  # type: ignore[attr-defined]


async def anomalies(
    s: AsyncSession, tenant: str, subject: str, since: datetime, action_prefix: str
) -> int:
    """Audit records whose action starts with ``action_prefix`` (the anomaly rules'
    ``security.usage.``) about ``subject`` since ``since``."""
    q = select(func.count()).where(
        AuditRecord.tenant_id == tenant,
        AuditRecord.action.startswith(action_prefix, autoescape=True),
        AuditRecord.target == subject,
        AuditRecord.ts >= since,
    )
    return int((await s.execute(q)).scalar_one())
