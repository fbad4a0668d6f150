"""What the services need from the audit log (audit/service.py ``AuditLog``; the
benchmarks' null sink stands in for it)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from strongroom.audit.models import AuditEvent


class AuditSink(Protocol):
    async def append(self, event: AuditEvent) -> None: ...

    async def append_before_release(
        self, event: AuditEvent, settled: Callable[[bool], None] | None = None
    ) -> None: ...

    def record_in(self, session: AsyncSession, event: AuditEvent) -> None: ...

    def recorded(self, request_id: str) -> bool:
        """Whether a record of this request was handed to the trail (recent ones)."""
        ...

    async def close(self) -> None: ...
