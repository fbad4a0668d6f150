"""What auditors read back from the trail."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from strongroom.store import audit_repo
from strongroom.store.db import Database


@dataclass(frozen=True)
class SecurityEventRecord:
    id: int
    ts: datetime
    rule: str
    severity: str
    subject: str | None
    tenant: str
    detail: dict[str, Any]


class AuditQueries:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def security_events(self, tenant: str, limit: int = 100) -> list[SecurityEventRecord]:
        async with self._db.read() as s:
            rows = await audit_repo.security_events(s, tenant, limit)
        return [
            SecurityEventRecord(
                r.id,
                r.ts,
                r.action.removeprefix("security."),
                str((r.detail or {}).get("severity", "warning")),
                r.target,
                r.tenant_id,
                dict(r.detail or {}),
            )
            for r in rows
        ]
