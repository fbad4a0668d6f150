"""Audit events. Invariant: no field ever holds plaintext, ciphertext, key material
or a credential; ``detail`` holds only counts, codes and identifiers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from strongroom.audit.actions import AuditAction
from strongroom.context import Actor


class Outcome(StrEnum):
    SUCCESS = "success"
    FAILURE = "failure"
    DENIED = "denied"


@dataclass(frozen=True)
class AuditEvent:
    actor: Actor
    action: AuditAction
    outcome: Outcome
    target: str | None = None
    item_count: int | None = None
    detail: dict[str, Any] | None = None
    ts: datetime = field(default_factory=lambda: datetime.now(UTC))
    # What kind of identifier ``target`` is ("userId", ...): the writer stores it as a
    # keyed HMAC when the operator marks that kind sensitive (audit/redact.py).
    target_kind: str | None = None
    # Free text worth finding later but never to be stored: kept only as keyed HMACs
    # under ``detail["hmac"][name]``.
    private: dict[str, str] | None = None


def columns(e: AuditEvent) -> dict[str, Any]:
    """The ``audit_records`` columns of ``e`` (before sensitive values are replaced)."""
    return {
        "ts": e.ts,
        "request_id": e.actor.request_id,
        "actor": e.actor.principal,
        "tenant_id": e.actor.tenant,
        "action": str(e.action),  # a plain str: the chain encodes exact str fast
        "target": e.target,
        "outcome": e.outcome.value,
        "item_count": e.item_count,
        "client_addr": e.actor.client_addr,
        "detail": e.detail,
    }
