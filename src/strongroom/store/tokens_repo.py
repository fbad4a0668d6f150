"""SQL for revoked bearer tokens. Functions take the caller's session (and transaction)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from strongroom.store.models import RevokedToken


async def ids_unexpired(s: AsyncSession, since: datetime) -> frozenset[str]:
    """Ids of revocations without an expiry or expiring after ``since``."""
    q = select(RevokedToken.id).where(
        or_(RevokedToken.expires_at.is_(None), RevokedToken.expires_at > since)
    )
    return frozenset((await s.execute(q)).scalars())


async def get(s: AsyncSession, token_id: str) -> RevokedToken | None:
    return await s.get(RevokedToken, token_id)


def add(s: AsyncSession, row: RevokedToken) -> None:
    s.add(row)
