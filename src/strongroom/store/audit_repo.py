"""Read queries over the audit trail."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from strongroom.store.models import AuditCheckpoint, AuditRecord, AuditSegment


async def security_events(s: AsyncSession, tenant: str, limit: int) -> Sequence[AuditRecord]:
    """Newest first. Events about unauthenticated traffic have no tenant ("-")."""
    q = (
        select(AuditRecord)
        .where(AuditRecord.action.startswith("security."))
        .where(or_(AuditRecord.tenant_id == tenant, AuditRecord.tenant_id == "-"))
        .order_by(AuditRecord.id.desc())
        .limit(limit)
    )
    return (await s.execute(q)).scalars().all()


# --- chain and checkpoints (audit/chain.py, audit/checkpoints.py, audit/verify.py) ---

CHAIN_COLUMNS = (
    AuditRecord.id,
    AuditRecord.ts,
    AuditRecord.request_id,
    AuditRecord.actor,
    AuditRecord.tenant_id,
    AuditRecord.action,
    AuditRecord.target,
    AuditRecord.outcome,
    AuditRecord.item_count,
    AuditRecord.client_addr,
    AuditRecord.detail,
    AuditRecord.segment_id,
    AuditRecord.seq,
    AuditRecord.prev_hash,
    AuditRecord.hash,
    AuditRecord.mac,
)


async def latest_checkpoint(s: AsyncSession) -> AuditCheckpoint | None:
    q = select(AuditCheckpoint).order_by(AuditCheckpoint.number.desc()).limit(1)
    return (await s.execute(q)).scalars().first()


async def checkpoints(s: AsyncSession) -> Sequence[AuditCheckpoint]:
    q = select(AuditCheckpoint).order_by(AuditCheckpoint.number)
    return (await s.execute(q)).scalars().all()


async def segments_opened_since(s: AsyncSession, since: datetime | None) -> list[str]:
    q = select(AuditSegment.segment_id)
    if since is not None:
        q = q.where(AuditSegment.opened_at >= since)
    return list((await s.execute(q)).scalars())


async def segments(s: AsyncSession) -> Sequence[AuditSegment]:
    return (await s.execute(select(AuditSegment))).scalars().all()


async def segment_head(
    s: AsyncSession, segment_id: str
) -> Row[int | None, bytes | None, str, datetime] | None:
    """(seq, hash, action, ts) of the segment's last record."""
    q = (
        select(AuditRecord.seq, AuditRecord.hash, AuditRecord.action, AuditRecord.ts)
        .where(AuditRecord.segment_id == segment_id)
        .order_by(AuditRecord.seq.desc())
        .limit(1)
    )
    return (await s.execute(q)).first()


async def chain_records(
    s: AsyncSession, segment_id: str, lo: int = 0, hi: int | None = None
) -> list[dict[str, Any]]:
    """The segment's records with seq in [lo, hi], in seq order, as plain dicts."""
    q = select(*CHAIN_COLUMNS).where(AuditRecord.segment_id == segment_id)
    q = q.where(AuditRecord.seq >= lo)
    if hi is not None:
        q = q.where(AuditRecord.seq <= hi)
    return [dict(r._mapping) for r in await s.execute(q.order_by(AuditRecord.seq))]


async def seq_ranges(
    s: AsyncSession, start: datetime | None, end: datetime | None
) -> dict[str | None, tuple[int, int, int]]:
    """Per segment (None: unchained records): (min seq, max seq, count) of the
    records whose time falls in [start, end]."""
    q = select(
        AuditRecord.segment_id,
        func.min(AuditRecord.seq),
        func.max(AuditRecord.seq),
        func.count(),
    ).group_by(AuditRecord.segment_id)
    if start is not None:
        q = q.where(AuditRecord.ts >= start)
    if end is not None:
        q = q.where(AuditRecord.ts <= end)
    return {r[0]: (r[1] or 0, r[2] or 0, int(r[3])) for r in await s.execute(q)}


async def first_chained_id(s: AsyncSession) -> int | None:
    q = select(func.min(AuditRecord.id)).where(AuditRecord.segment_id.is_not(None))
    return (await s.execute(q)).scalar()


async def unchained_after(s: AsyncSession, first_chained: int | None) -> list[int]:
    """Ids of records without chain fields written after the chain began (forged)."""
    if first_chained is None:
        return []
    q = (
        select(AuditRecord.id)
        .where(AuditRecord.segment_id.is_(None), AuditRecord.id > first_chained)
        .order_by(AuditRecord.id)
        .limit(100)
    )
    return list((await s.execute(q)).scalars())
