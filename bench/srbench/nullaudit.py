"""A benchmark double: the service with an audit sink that records nothing.

Only for bench/audit_overhead.py's baseline (``uvicorn --factory
srbench.nullaudit:create``); the service itself has no setting that turns audit off.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from strongroom.api.app import create_app
from strongroom.audit.models import AuditEvent
from strongroom.audit.service import AuditLog
from strongroom.config import Settings
from strongroom.logging import configure_logging
from strongroom.services.container import build_services


class NullAuditLog(AuditLog):
    async def start(self) -> None:
        return None

    def record_in(self, session: AsyncSession, event: AuditEvent) -> None:
        return None

    async def append(self, event: AuditEvent) -> None:
        return None

    async def append_before_release(
        self, event: AuditEvent, settled: Callable[[bool], None] | None = None
    ) -> None:
        if settled is not None:  # the service's own work (metrics) stays the same
            settled(True)

    async def close(self) -> None:
        return None


def create(*_: Any) -> FastAPI:
    settings = Settings()
    configure_logging(settings.logging.level)
    return create_app(settings, build_services(settings, audit_class=NullAuditLog))
