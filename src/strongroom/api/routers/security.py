"""Security events raised by the monitor (audit/events.py), for auditors."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from strongroom.access.permissions import Permission
from strongroom.api.deps import require, services
from strongroom.api.schemas import examples
from strongroom.audit.actions import SecurityRule
from strongroom.context import Actor
from strongroom.services.container import Services

router = APIRouter(prefix="/api/v1", tags=["audit"])


class SecurityEventOut(BaseModel):
    id: int
    ts: datetime
    rule: str
    severity: str
    subject: str | None
    tenant: str
    detail: dict[str, Any]


class SecurityEventsOut(BaseModel):
    model_config = examples(
        {
            "events": [
                {
                    "id": 7,
                    "ts": "2026-01-01T00:00:00Z",
                    "rule": SecurityRule.AUTH_FAILURES,
                    "severity": "P2",
                    "subject": "203.0.113.7",
                    "tenant": "-",
                    "detail": {"count": 20, "windowSeconds": 60},
                }
            ]
        }
    )
    events: list[SecurityEventOut]


class EventsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")  # an unknown parameter is refused (REQ004)
    limit: Annotated[int, Field(ge=1, le=1000)] = 100


@router.get("/security-events", response_model=SecurityEventsOut)
async def security_events(
    actor: Annotated[Actor, Depends(require(Permission.AUDIT_READ))],
    svc: Annotated[Services, Depends(services)],
    q: Annotated[EventsQuery, Query()],
) -> SecurityEventsOut:
    """Newest first: this tenant's events and those about unauthenticated traffic."""
    rows = await svc.audit_queries.security_events(actor.tenant, q.limit)
    return SecurityEventsOut(events=[SecurityEventOut(**vars(r)) for r in rows])
