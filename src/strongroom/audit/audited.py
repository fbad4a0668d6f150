"""``audited``: the failure half of "every security-relevant action is audited".

A service wraps an action in ``async with audited(sink, actor, action, target):``;
if the action raises a ``StrongroomError``, one failure record (the error's code,
and the index of the offending item when the error names one) is appended before
the error propagates. Success records stay with the action itself, usually in its
own transaction (``AuditSink.record_in``), so that a change and its record commit
together.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from strongroom.audit.actions import AuditAction
from strongroom.audit.interfaces import AuditSink
from strongroom.audit.models import AuditEvent, Outcome
from strongroom.context import Actor
from strongroom.errors import StrongroomError


def failure_event(
    actor: Actor,
    action: AuditAction,
    target: str | None,
    exc: StrongroomError,
    count: int | None = None,
    target_kind: str | None = None,
) -> AuditEvent:
    detail: dict[str, Any] = {"code": exc.code}
    if "index" in exc.detail:
        detail["index"] = exc.detail["index"]
    return AuditEvent(
        actor=actor,
        action=action,
        outcome=Outcome.FAILURE,
        target=target,
        item_count=count,
        detail=detail,
        target_kind=target_kind,
    )


@asynccontextmanager
async def audited(
    sink: AuditSink,
    actor: Actor,
    action: AuditAction,
    target: str | None,
    *,
    count: int | None = None,
    target_kind: str | None = None,
) -> AsyncIterator[None]:
    """Record a failure of the enclosed action, then re-raise it."""
    try:
        yield
    except StrongroomError as exc:
        await sink.append(failure_event(actor, action, target, exc, count, target_kind))
        raise
