"""SQL for shares (secrets/shares.py). Functions take the caller's session (and its
transaction); the single-statement updates are what makes redeeming atomic."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import case, delete, literal, null, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from strongroom.store.models import Share, ShareAccess, UTCDateTime


def add(s: AsyncSession, row: Share) -> None:
    s.add(row)


async def by_token(s: AsyncSession, token_hash: bytes) -> Share | None:
    q = select(Share).where(Share.token_hash == token_hash)
    return (await s.execute(q)).scalar_one_or_none()


async def get(s: AsyncSession, tenant: str, share_id: str) -> Share | None:
    q = select(Share).where(Share.id == share_id, Share.tenant_id == tenant)
    return (await s.execute(q)).scalar_one_or_none()


async def page(
    s: AsyncSession, tenant: str, created_by: str | None, limit: int, after: str | None
) -> list[Share]:
    """Up to ``limit`` shares of ``tenant`` ordered by id after ``after`` (only those
    ``created_by`` made, when given)."""
    q = select(Share).where(Share.tenant_id == tenant).order_by(Share.id).limit(limit)
    if created_by is not None:
        q = q.where(Share.created_by == created_by)
    if after is not None:
        q = q.where(Share.id > after)
    return list((await s.execute(q)).scalars())


async def take_view(s: AsyncSession, share_id: str, now: datetime) -> bool:
    """Take one view of a live share in one statement: of any number of concurrent
    redeems, only as many as there are views left succeed. The last view wipes the
    sealed value and ends the share in the same statement."""
    last = Share.views_left == 1  # evaluated on the row before the update
    done = await s.execute(
        update(Share)
        .where(
            Share.id == share_id,
            Share.views_left > 0,
            Share.ended_at.is_(None),
            Share.expires_at > now,
        )
        .values(
            views_left=Share.views_left - 1,
            last_access_at=now,
            sealed=case((last, null()), else_=Share.sealed),
            ended_at=case((last, literal(now, UTCDateTime())), else_=Share.ended_at),
            end_reason=case((last, "used"), else_=Share.end_reason),
        )
        .execution_options(synchronize_session=False)
    )
    return bool(done.rowcount == 1)  # type: ignore[attr-defined]


async def fail_attempt(s: AsyncSession, share_id: str, now: datetime) -> int | None:
    """Count one wrong passphrase on a live share; lock it (wiping the value) at its
    limit. The attempts left, or None when the share was no longer live."""
    done = await s.execute(
        update(Share)
        .where(Share.id == share_id, Share.ended_at.is_(None), Share.expires_at > now)
        .values(failed_attempts=Share.failed_attempts + 1, last_access_at=now)
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:  # type: ignore[attr-defined]
        return None
    row = (
        await s.execute(
            select(Share.failed_attempts, Share.max_attempts).where(Share.id == share_id)
        )
    ).one()
    left = int(row.max_attempts) - int(row.failed_attempts)
    if left <= 0:
        await end(s, share_id, now, "locked")
    return max(left, 0)


async def end(s: AsyncSession, share_id: str, now: datetime, reason: str) -> bool:
    """End a live share now, wiping its value; False if it had already ended."""
    done = await s.execute(
        update(Share)
        .where(Share.id == share_id, Share.ended_at.is_(None))
        .values(sealed=None, ended_at=now, end_reason=reason)
        .execution_options(synchronize_session=False)
    )
    return bool(done.rowcount == 1)  # type: ignore[attr-defined]


async def delete_for_version(s: AsyncSession, tenant: str, path: str, version: int | None) -> int:
    """Delete the shares of a vault secret's version (every version: None) with their
    access log; the number deleted."""
    cond = [Share.tenant_id == tenant, Share.source_path == path]
    if version is not None:
        cond.append(Share.source_version == version)
    ids = select(Share.id).where(*cond)
    await s.execute(delete(ShareAccess).where(ShareAccess.share_id.in_(ids)))
    done = await s.execute(delete(Share).where(*cond))
    return int(done.rowcount)  # type: ignore[attr-defined]


async def end_for_versions(
    s: AsyncSession, tenant: str, path: str, versions: list[int], now: datetime
) -> list[tuple[str, int]]:
    """End the live shares of these versions of a vault secret (wiping their values,
    state ``revoked``): (id, version) of each share this statement ended."""
    done = await s.execute(
        update(Share)
        .where(
            Share.tenant_id == tenant,
            Share.source_path == path,
            Share.source_version.in_(versions),
            Share.ended_at.is_(None),
        )
        .values(sealed=None, ended_at=now, end_reason="revoked")
        .returning(Share.id, Share.source_version)
        .execution_options(synchronize_session=False)
    )
    return [(i, int(v or 0)) for i, v in done]


async def expire_due(s: AsyncSession, now: datetime) -> list[tuple[str, str]]:
    """End live shares past their expiry (wiping their values): (tenant, id) of each
    share this statement ended (replicas running it at once never both end one)."""
    done = await s.execute(
        update(Share)
        .where(Share.ended_at.is_(None), Share.expires_at <= now)
        .values(sealed=None, ended_at=now, end_reason="expired")
        .returning(Share.tenant_id, Share.id)
        .execution_options(synchronize_session=False)
    )
    return [(t, i) for t, i in done]


async def purge_ended(s: AsyncSession, before: datetime) -> dict[str, int]:
    """Delete shares that ended before ``before``, with their access log: how many
    this statement deleted, per tenant."""
    ended = select(Share.id).where(Share.ended_at < before)
    await s.execute(delete(ShareAccess).where(ShareAccess.share_id.in_(ended)))
    done = await s.execute(
        delete(Share)
        .where(Share.ended_at < before)
        .returning(Share.tenant_id)
        .execution_options(synchronize_session=False)
    )
    counts: dict[str, int] = {}
    for (tenant,) in done:
        counts[tenant] = counts.get(tenant, 0) + 1
    return counts


def log_access(s: AsyncSession, row: ShareAccess) -> None:
    s.add(row)


async def accesses(
    s: AsyncSession, tenant: str, share_id: str, limit: int, after: int | None
) -> list[ShareAccess]:
    q = (
        select(ShareAccess)
        .where(ShareAccess.tenant_id == tenant, ShareAccess.share_id == share_id)
        .order_by(ShareAccess.id)
        .limit(limit)
    )
    if after is not None:
        q = q.where(ShareAccess.id > after)
    return list((await s.execute(q)).scalars())
