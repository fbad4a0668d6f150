"""Audit rows as stored, for the API tests."""

from __future__ import annotations

from sqlalchemy import select

from strongroom.audit.actions import AuthzAction
from strongroom.store.models import AuditRecord
from tests.api.conftest import App


async def denied_records(app: App, request_id: str) -> list[AuditRecord]:
    q = select(AuditRecord).where(
        AuditRecord.request_id == request_id, AuditRecord.action == AuthzAction.DENIED
    )
    async with app.services.db.read() as s:
        return list((await s.execute(q)).scalars())
