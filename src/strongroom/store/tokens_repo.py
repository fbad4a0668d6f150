"""SQL for revoked bearer tokens. Functions take the caller's session (and transaction)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from strongroom.store.models import RevokedToken


async def unexpired(s: AsyncSession, since: datetime) -> frozenset[tuple[str, str]]:
    """(id, tenant) of revocations without an expiry or expiring after ``since``, in
    every tenant the session's scope sees (the verifier reads in system scope)."""
    q = select(RevokedToken.id, RevokedToken.tenant_id).where(
        or_(RevokedToken.expires_at.is_(None), RevokedToken.expires_at > since)
    )
    return frozenset((i, t) for i, t in await s.execute(q))


async def get(s: AsyncSession, token_id: str, tenant: str) -> RevokedToken | None:
    return await s.get(RevokedToken, (token_id, tenant))


def add(s: AsyncSession, row: RevokedToken) -> None:
    s.add(row)
