"""How a request shows (``RequestView``) and how each of its steps is recorded: one
correlation id, the access request's id, as target and ``detail.correlationId``."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from strongroom.approvals.contract import (
    AccessAsk,
    Factor,
    RequestStatus,
    RequestView,
    ToolIdentity,
)
from strongroom.audit.actions import ApprovalAction
from strongroom.audit.models import AuditEvent, Outcome
from strongroom.context import Actor
from strongroom.store.models import McpRequest

# Request and session ids: 128 random bits in hex. Anything else names nothing (and
# never reaches the database: a NUL there would be its error, not ours).
ID = re.compile(r"^[0-9a-f]{32}$")


def well_formed(value: str) -> bool:
    return ID.match(value) is not None


def event(
    actor: Actor,
    action: ApprovalAction,
    outcome: Outcome,
    request_id: str,
    private: dict[str, str] | None = None,
    **detail: Any,
) -> AuditEvent:
    """A record of one step of request ``request_id`` (target and correlation id);
    ``private`` free text is kept only as keyed HMACs."""
    return AuditEvent(
        actor,
        action,
        outcome,
        request_id,
        detail={"correlationId": request_id, **detail},
        private=private,
    )


def view(row: McpRequest, url: str | None, now: datetime | None = None) -> RequestView:
    status = RequestStatus(row.status)
    if status is RequestStatus.PENDING and row.expires_at <= (now or datetime.now(UTC)):
        status = RequestStatus.EXPIRED  # the job records it soon; never decidable now
    ask = AccessAsk(
        ToolIdentity(row.tool_name, row.client_id, row.schema_sha256),
        row.project,
        row.key_name,
        tuple(row.hosts),
        tuple(row.methods),
        row.duration_seconds,
        row.purpose,
    )
    return RequestView(
        request_id=row.id,
        status=status,
        score=row.score,
        factors=tuple(Factor(f["name"], f["points"], f["why"]) for f in row.factors),
        policy_version=row.policy_version,
        ask=ask,
        requester=row.requester,
        created_at=row.created_at,
        expires_at=row.expires_at,
        approval_url=url.replace("{request_id}", row.id)
        if url and status is RequestStatus.PENDING
        else None,
        session_id=row.session_id,
    )
