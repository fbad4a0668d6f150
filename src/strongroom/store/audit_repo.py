"""Read queries over the audit trail."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from strongroom.store.models import AuditRecord


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
