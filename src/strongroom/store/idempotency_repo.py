"""Queries of idempotency keys (idempotency/service.py). A key is claimed by ONE
``INSERT ... ON CONFLICT DO NOTHING``: of requests racing with one key exactly one
inserts; the others read the winner's row."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Table, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from strongroom.store.models import IdempotencyKey

_TABLE: Table = IdempotencyKey.__table__  # type: ignore[assignment]
_KEY = ["tenant_id", "principal", "idem_key"]


def _insert(s: AsyncSession) -> Any:
    return pg_insert(_TABLE) if s.get_bind().dialect.name == "postgresql" else sqlite_insert(_TABLE)


async def insert(s: AsyncSession, row: dict[str, Any]) -> int | None:
    """The new row's id, or None when the key exists (another request has it)."""
    stmt = _insert(s).values(row).on_conflict_do_nothing(index_elements=_KEY)
    result = await s.execute(stmt.returning(_TABLE.c.id))
    return result.scalar_one_or_none()


async def get(s: AsyncSession, tenant: str, principal: str, key: str) -> IdempotencyKey | None:
    q = select(IdempotencyKey).where(
        IdempotencyKey.tenant_id == tenant,
        IdempotencyKey.principal == principal,
        IdempotencyKey.idem_key == key,
    )
    return (await s.execute(q)).scalar_one_or_none()


async def take_over(
    s: AsyncSession, row_id: int, was_created: datetime, values: dict[str, Any]
) -> bool:
    """Reuse an expired or abandoned row, compare-and-set on its creation time so that
    of two requests taking it over only one wins."""
    stmt = (
        update(IdempotencyKey)
        .where(IdempotencyKey.id == row_id, IdempotencyKey.created_at == was_created)
        .values(status=None, response=None, **values)
    )
    return bool((await s.execute(stmt)).rowcount)  # type: ignore[attr-defined]


async def store(s: AsyncSession, row_id: int, status: int, response: bytes) -> None:
    stmt = (
        update(IdempotencyKey)
        .where(IdempotencyKey.id == row_id, IdempotencyKey.status.is_(None))
        .values(status=status, response=response)
    )
    await s.execute(stmt)


async def release(s: AsyncSession, row_id: int) -> None:
    """Forget an in-flight key (its request failed): a retry runs again."""
    await s.execute(
        delete(IdempotencyKey).where(IdempotencyKey.id == row_id, IdempotencyKey.status.is_(None))
    )


async def purge(s: AsyncSession, now: datetime) -> int:
    result = await s.execute(delete(IdempotencyKey).where(IdempotencyKey.expires_at <= now))
    return int(result.rowcount)  # type: ignore[attr-defined]
