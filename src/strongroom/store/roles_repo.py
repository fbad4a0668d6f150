"""SQL for custom roles. Functions take the caller's session (and transaction)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from strongroom.store.models import CustomRole


async def list_roles(s: AsyncSession, tenant: str) -> Sequence[CustomRole]:
    q = select(CustomRole).where(CustomRole.tenant_id == tenant)
    return (await s.execute(q.order_by(CustomRole.name))).scalars().all()


async def get(
    s: AsyncSession, tenant: str, name: str, *, for_update: bool = False
) -> CustomRole | None:
    """The role row; ``for_update`` locks it until the transaction ends (PostgreSQL)."""
    q = select(CustomRole).where(CustomRole.tenant_id == tenant, CustomRole.name == name)
    if for_update:
        q = q.with_for_update()
    return (await s.execute(q)).scalar_one_or_none()


def add(s: AsyncSession, row: CustomRole) -> None:
    s.add(row)


async def delete_role(s: AsyncSession, tenant: str, name: str) -> bool:
    q = delete(CustomRole).where(CustomRole.tenant_id == tenant, CustomRole.name == name)
    return bool((await s.execute(q)).rowcount)  # type: ignore[attr-defined]


async def grants_by_name(s: AsyncSession, tenant: str) -> list[tuple[str, list[dict[str, str]]]]:
    """(name, stored grants) of every custom role of ``tenant``."""
    q = select(CustomRole.name, CustomRole.grants).where(CustomRole.tenant_id == tenant)
    return [(name, grants) for name, grants in (await s.execute(q)).all()]
