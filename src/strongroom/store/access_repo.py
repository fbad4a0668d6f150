"""SQL for access keys. Functions take the caller's session (and transaction)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from strongroom.store.models import AccessKey, UTCDateTime


async def count(s: AsyncSession) -> int:
    return int((await s.execute(select(func.count()).select_from(AccessKey))).scalar_one())


async def get(s: AsyncSession, key_id: str) -> AccessKey | None:
    return await s.get(AccessKey, key_id)


def add(s: AsyncSession, row: AccessKey) -> None:
    s.add(row)


async def page(
    s: AsyncSession, tenant: str | None, limit: int, after: str | None
) -> list[AccessKey]:
    """Up to ``limit`` keys ordered by id after ``after`` (every tenant when None)."""
    q = select(AccessKey).order_by(AccessKey.id).limit(limit)
    if tenant is not None:
        q = q.where(AccessKey.tenant_id == tenant)
    if after is not None:
        q = q.where(AccessKey.id > after)
    return list((await s.execute(q)).scalars())


async def rotate_secret(s: AsyncSession, key_id: str, expect_hash: bytes, **values: object) -> bool:
    """Compare-and-set on the secret the caller read (and not revoked meanwhile):
    of two concurrent rotations exactly one updates the row."""
    done = await s.execute(
        update(AccessKey)
        .where(
            AccessKey.id == key_id,
            AccessKey.secret_hash == expect_hash,
            AccessKey.revoked_at.is_(None),
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return bool(done.rowcount == 1)  # type: ignore[attr-defined]


async def revoke(s: AsyncSession, key_id: str, now: datetime) -> bool:
    """Revoke unless already revoked; False when another request got there first."""
    done = await s.execute(
        update(AccessKey)
        .where(AccessKey.id == key_id, AccessKey.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(done.rowcount == 1)  # type: ignore[attr-defined]


_RECORD_USE = (
    update(AccessKey)
    .where(
        AccessKey.id == bindparam("b_id"),
        or_(
            AccessKey.last_used_at.is_(None),
            AccessKey.last_used_at < bindparam("b_at", type_=UTCDateTime()),
        ),
    )
    .values(last_used_at=bindparam("b_at", type_=UTCDateTime()), last_used_addr=bindparam("b_addr"))
)


async def record_uses(
    conn: AsyncConnection, uses: Sequence[tuple[str, datetime, str | None]]
) -> None:
    """Write (key id, time, address) uses in one executemany; a row only moves
    forward in time, so replicas flushing in any order keep the newest use."""
    rows: list[dict[str, Any]] = [{"b_id": k, "b_at": at, "b_addr": addr} for k, at, addr in uses]
    await conn.execute(_RECORD_USE, rows)
