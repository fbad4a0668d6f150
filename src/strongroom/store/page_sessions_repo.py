"""SQL for the approvals page's sign-in sessions (access/page_sessions.py). Rows are
keyed by the SHA-256 of the session id; callers pass hashes, never ids."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from strongroom.store.models import ApprovalPageSession


async def insert(s: AsyncSession, row: ApprovalPageSession) -> None:
    s.add(row)
    await s.flush()


async def live(s: AsyncSession, session_hash: str, now: datetime) -> ApprovalPageSession | None:
    """The session with this hash, unless it has expired."""
    q = select(ApprovalPageSession).where(
        ApprovalPageSession.session_hash == session_hash, ApprovalPageSession.expires_at > now
    )
    return (await s.execute(q)).scalar_one_or_none()


async def remove(s: AsyncSession, session_hash: str) -> int:
    q = delete(ApprovalPageSession).where(ApprovalPageSession.session_hash == session_hash)
    return int((await s.execute(q)).rowcount or 0)  # type: ignore[attr-defined]


async def trim(s: AsyncSession, tenant: str, principal_hash: str, keep: int) -> int:
    """Delete a principal's sessions but its ``keep`` newest (the oldest give way)."""
    newest = (
        select(ApprovalPageSession.session_hash)
        .where(
            ApprovalPageSession.tenant_id == tenant,
            ApprovalPageSession.principal_hash == principal_hash,
        )
        .order_by(ApprovalPageSession.created_at.desc(), ApprovalPageSession.session_hash)
        .offset(keep)
    )
    stale = list((await s.execute(newest)).scalars())
    if not stale:
        return 0
    q = delete(ApprovalPageSession).where(ApprovalPageSession.session_hash.in_(stale))
    return int((await s.execute(q)).rowcount or 0)  # type: ignore[attr-defined]


async def purge(s: AsyncSession, now: datetime) -> int:
    """Delete every expired session."""
    q = delete(ApprovalPageSession).where(ApprovalPageSession.expires_at <= now)
    return int((await s.execute(q)).rowcount or 0)  # type: ignore[attr-defined]
