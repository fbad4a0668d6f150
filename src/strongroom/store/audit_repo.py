"""Queries over the audit trail (the group writes are in store/audit_writes.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Text, cast, delete, func, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from strongroom.store.models import AuditCheckpoint, AuditRecord, AuditSegment

# Who writes the record of `strongroom audit archive` (audit/archive.py).
ARCHIVE_ACTOR = "system:audit-archive"


async def security_events(
    s: AsyncSession, prefix: str, tenant: str, limit: int
) -> Sequence[AuditRecord]:
    """Records whose action starts with ``prefix`` (audit/actions.py names them),
    newest first. Events about unauthenticated traffic have no tenant ("-")."""
    q = (
        select(AuditRecord)
        .where(AuditRecord.action.startswith(prefix))
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
    s: AsyncSession, start: datetime | None, end: datetime | None, tenant: str | None = None
) -> dict[str | None, tuple[int, int, int]]:
    """Per segment (None: unchained records): (min seq, max seq, count) of the
    records whose time falls in [start, end] (of one tenant, if given)."""
    q = select(
        AuditRecord.segment_id,
        func.min(AuditRecord.seq),
        func.max(AuditRecord.seq),
        func.count(),
    ).group_by(AuditRecord.segment_id)
    if tenant is not None:
        q = q.where(AuditRecord.tenant_id == tenant)
    if start is not None:
        q = q.where(AuditRecord.ts >= start)
    if end is not None:
        q = q.where(AuditRecord.ts <= end)
    return {r[0]: (r[1] or 0, r[2] or 0, int(r[3])) for r in await s.execute(q)}


async def owned(s: AsyncSession, tenant: str, ids: Sequence[int]) -> set[int]:
    """Which of the record ids ``ids`` are ``tenant``'s."""
    if not ids:
        return set()
    q = select(AuditRecord.id).where(AuditRecord.id.in_(ids), AuditRecord.tenant_id == tenant)
    return set((await s.execute(q)).scalars())


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


# --- search (audit/search.py) and archival (audit/archive.py) ---


@dataclass(frozen=True)
class RecordFilter:
    """Conditions ANDed together; a tuple matches any of its values. A record
    "mentions" a value held in its target, actor or client address column, or one of
    ``in_detail`` (keyed HMAC tags) anywhere in its detail."""

    start: datetime | None = None
    end: datetime | None = None
    actor: str | None = None
    tenants: tuple[str, ...] | None = None  # None: every tenant
    action: str | None = None  # exact, or a prefix when it ends with "*"
    targets: tuple[str, ...] = ()
    outcome: str | None = None
    mentions: tuple[str, ...] = ()
    in_detail: tuple[str, ...] = ()


def _search_query(f: RecordFilter) -> Any:
    q = select(AuditRecord)
    if f.start is not None:
        q = q.where(AuditRecord.ts >= f.start)
    if f.end is not None:
        q = q.where(AuditRecord.ts <= f.end)
    if f.actor is not None:
        q = q.where(AuditRecord.actor == f.actor)
    if f.tenants is not None:
        q = q.where(AuditRecord.tenant_id.in_(f.tenants))
    if f.action is not None:
        if f.action.endswith("*"):
            q = q.where(AuditRecord.action.startswith(f.action[:-1], autoescape=True))
        else:
            q = q.where(AuditRecord.action == f.action)
    if f.targets:
        q = q.where(AuditRecord.target.in_(f.targets))
    if f.outcome is not None:
        q = q.where(AuditRecord.outcome == f.outcome)
    if f.mentions or f.in_detail:
        detail = cast(AuditRecord.detail, Text)
        q = q.where(
            or_(
                AuditRecord.target.in_(f.mentions),
                AuditRecord.actor.in_(f.mentions),
                AuditRecord.client_addr.in_(f.mentions),
                *(detail.contains(m, autoescape=True) for m in f.in_detail),
            )
        )
    return q


async def search(
    s: AsyncSession, f: RecordFilter, after: int | None, limit: int
) -> Sequence[AuditRecord]:
    """One page in id (= write) order, after the record id ``after``."""
    q = _search_query(f)
    if after is not None:
        q = q.where(AuditRecord.id > after)
    q = q.order_by(AuditRecord.id).limit(limit)
    return (await s.execute(q)).scalars().all()


async def checkpoint_range(s: AsyncSession, lo: int, hi: int) -> Sequence[AuditCheckpoint]:
    q = select(AuditCheckpoint).where(AuditCheckpoint.number.between(lo, hi))
    return (await s.execute(q.order_by(AuditCheckpoint.number))).scalars().all()


async def checkpoint_before(s: AsyncSession, ts: datetime) -> AuditCheckpoint | None:
    """The newest checkpoint written before ``ts``."""
    q = select(AuditCheckpoint).where(AuditCheckpoint.ts < ts)
    q = q.order_by(AuditCheckpoint.number.desc()).limit(1)
    return (await s.execute(q)).scalars().first()


async def checkpoint_at_or_after(s: AsyncSession, ts: datetime) -> AuditCheckpoint | None:
    q = select(AuditCheckpoint).where(AuditCheckpoint.ts >= ts)
    q = q.order_by(AuditCheckpoint.number).limit(1)
    return (await s.execute(q)).scalars().first()


async def first_checkpoint(s: AsyncSession) -> AuditCheckpoint | None:
    q = select(AuditCheckpoint).order_by(AuditCheckpoint.number).limit(1)
    return (await s.execute(q)).scalars().first()


async def unchained(s: AsyncSession, before: datetime | None) -> list[dict[str, Any]]:
    """Records without chain fields (written before the chain existed)."""
    q = select(*CHAIN_COLUMNS).where(AuditRecord.segment_id.is_(None))
    if before is not None:
        q = q.where(AuditRecord.ts < before)
    return [dict(r._mapping) for r in await s.execute(q.order_by(AuditRecord.id))]


async def archive_markers(s: AsyncSession, action: str) -> Sequence[AuditRecord]:
    """Records of completed archivals (``action``, audit/archive.py), newest first."""
    q = select(AuditRecord).where(AuditRecord.action == action)
    q = q.where(AuditRecord.actor == ARCHIVE_ACTOR, AuditRecord.segment_id.is_not(None))
    return (await s.execute(q.order_by(AuditRecord.id.desc()))).scalars().all()


async def enable_archive_delete(s: AsyncSession) -> None:
    """PostgreSQL: let this transaction delete records (migration 0005 refuses it
    otherwise); the setting ends with the transaction."""
    await s.execute(text("SELECT set_config('strongroom.audit_archive', 'on', true)"))


async def try_advisory_lock(s: AsyncSession, key: int) -> bool:
    """PostgreSQL: take the transaction-scoped advisory lock ``key`` unless another
    transaction holds it (then False, without waiting)."""
    q = text("SELECT pg_try_advisory_xact_lock(:k)")
    return bool((await s.execute(q, {"k": key})).scalar())


async def delete_archived(
    s: AsyncSession, cuts: dict[str, int], checkpoint: int, unchained_ids: list[int]
) -> int:
    """Delete records of each segment up to its cut seq, the unchained ones given, and
    the checkpoints before ``checkpoint`` (which stays: it anchors what remains).
    On PostgreSQL the caller has enabled the archive path (migration 0005)."""
    n = 0
    for seg, through in cuts.items():
        done = await s.execute(
            delete(AuditRecord).where(AuditRecord.segment_id == seg, AuditRecord.seq <= through)
        )
        n += int(done.rowcount)  # type: ignore[attr-defined]
    for i in range(0, len(unchained_ids), 500):
        chunk = unchained_ids[i : i + 500]
        done = await s.execute(delete(AuditRecord).where(AuditRecord.id.in_(chunk)))
        n += int(done.rowcount)  # type: ignore[attr-defined]
    await s.execute(delete(AuditCheckpoint).where(AuditCheckpoint.number < checkpoint))
    return n
