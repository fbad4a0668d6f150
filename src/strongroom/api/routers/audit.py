"""Audit trail for auditors: verification, the checkpoint public key, filtered
records and "which records mention this value" (HMAC-aware, audit/search.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from strongroom.access.guard import RequestContext
from strongroom.access.permissions import Permission
from strongroom.api.deps import (
    admit,
    api_key_header,
    app_services,
    require,
    require_context,
    services,
)
from strongroom.api.schemas import Timestamp, examples
from strongroom.audit.actions import KeyAction
from strongroom.audit.findings import Status
from strongroom.audit.search import MAX_PAGE, Page
from strongroom.context import Actor
from strongroom.errors import NotFound
from strongroom.services.container import Services
from strongroom.store.audit_repo import RecordFilter

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])


class Window(BaseModel):
    """Query parameters, as models so that an unknown one (a misspelled ``tenat``) is
    refused (REQ004) instead of being ignored."""

    model_config = ConfigDict(extra="forbid")
    start: Timestamp | None = Field(default=None, alias="from")
    end: Timestamp | None = Field(default=None, alias="to")


class PageQuery(Window):
    tenant: Annotated[str | None, Field(max_length=64)] = None
    # audit/search.parse_cursor
    cursor: Annotated[str | None, Field(pattern=r"^[0-9]{1,19}$")] = None
    limit: Annotated[int, Field(ge=1, le=MAX_PAGE)] = 100


class RecordsQuery(PageQuery):
    actor: Annotated[str | None, Field(max_length=200)] = None
    action: Annotated[str | None, Field(max_length=64, description="exact, or prefix*")] = None
    target: Annotated[str | None, Field(max_length=200)] = None
    outcome: Literal["success", "failure", "denied"] | None = None


class LookupQuery(PageQuery):
    value: Annotated[str, Field(min_length=1, max_length=500)]


class FindingOut(BaseModel):
    kind: str
    message: str
    segment: str | None
    seq: int | None
    record_id: int | None
    checkpoint: int | None


class VerifyOut(BaseModel):
    model_config = examples(
        {
            "status": "ok",
            "ok": True,
            "records": 1200,
            "segments": 3,
            "checkpoints": 12,
            "last_checkpoint": 12,
            "unchained": 0,
            "first_bad": None,
            "findings": [],
            "truncated": [],
            "seconds": 0.42,
        }
    )
    # "failed": findings or a possibly truncated tail; "unconfirmed": nothing wrong
    # found, but a live tail or an unanchored checkpoint is not proven; "ok": neither.
    status: Status
    ok: bool
    records: int
    segments: int
    checkpoints: int
    last_checkpoint: int | None
    unchained: int
    first_bad: FindingOut | None
    findings: list[FindingOut]
    truncated: list[FindingOut]
    unconfirmed: list[FindingOut]
    last_anchored: int | None
    seconds: float


class AuditPublicKeyOut(BaseModel):
    model_config = examples(
        {
            "key_id": "ckpt-1",
            "algorithm": "Ed25519",
            "pem": "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA…\n-----END PUBLIC KEY-----\n",
        }
    )
    key_id: str
    algorithm: str = "Ed25519"
    pem: str


@router.get("/verify", response_model=VerifyOut)
async def verify(
    ctx: Annotated[RequestContext, Depends(require_context(Permission.AUDIT_READ))],
    svc: Annotated[Services, Depends(services)],
    q: Annotated[Window, Query()],
) -> VerifyOut:
    """Check the trail (or records timed in [from, to]) against the configured anchor
    log, if any; names the first bad record. ``status`` "unconfirmed": nothing wrong
    found, but a live tail is not proven whole (docs/audit-format.md, Verification)."""
    start, end = q.start, q.end
    if ctx.principal.spans_tenants:
        r = await svc.audit_queries.verify(start, end)
    else:  # counts and findings of its own tenant only (audit/queries.py)
        r = await svc.audit_queries.verify_tenant(ctx.actor.tenant, start, end)
    cap = 100
    return VerifyOut(
        status=r.status,
        ok=r.ok,
        records=r.records,
        segments=r.segments,
        checkpoints=r.checkpoints,
        last_checkpoint=r.last_checkpoint,
        unchained=r.unchained,
        first_bad=FindingOut(**vars(r.first_bad)) if r.first_bad else None,
        findings=[FindingOut(**vars(f)) for f in r.findings[:cap]],
        truncated=[FindingOut(**vars(f)) for f in r.truncated[:cap]],
        unconfirmed=[FindingOut(**vars(f)) for f in r.unconfirmed[:cap]],
        last_anchored=r.last_anchored,
        seconds=r.seconds,
    )


@router.get("/public-key", response_model=AuditPublicKeyOut)
async def public_key(
    _actor: Annotated[Actor, Depends(require(Permission.AUDIT_READ))],
    svc: Annotated[Services, Depends(services)],
) -> AuditPublicKeyOut:
    """The Ed25519 key that signs checkpoints: verify them without any secret."""
    kid, pem = await svc.audit_queries.public_key()
    return AuditPublicKeyOut(key_id=kid, pem=pem)


@dataclass(frozen=True)
class Auditor:
    svc: Services
    actor: Actor
    spans_tenants: bool


async def auditor(
    request: Request, _doc: Annotated[str | None, Depends(api_key_header)] = None
) -> Auditor:
    """``audit:read``, keeping whether the principal may read every tenant's records."""
    svc = app_services(request)
    ctx = await admit(request, svc, Permission.AUDIT_READ)
    return Auditor(svc, ctx.actor, ctx.principal.spans_tenants)


def _tenants(a: Auditor, tenant: str | None) -> tuple[str, ...] | None:
    """A tenant-bound auditor reads its tenant only; one spanning tenants names one
    (or "*" for all; "-" holds unauthenticated traffic and the chain's own records)."""
    if tenant is None or tenant == a.actor.tenant:
        return (a.actor.tenant,)
    if not a.spans_tenants:
        raise NotFound()  # another tenant's records do not exist for this principal
    return None if tenant == "*" else (tenant,)


class RecordOut(BaseModel):
    id: int
    ts: datetime
    requestId: str
    actor: str
    tenant: str
    action: str
    target: str | None
    outcome: str
    itemCount: int | None
    clientAddr: str | None
    detail: dict[str, Any] | None
    segment: str | None
    seq: int | None
    hash: str | None


class RecordsOut(BaseModel):
    model_config = examples(
        {
            "records": [
                {
                    "id": 41,
                    "ts": "2026-01-01T00:00:00Z",
                    "requestId": "4b0c9f2e8d7a4c1b9e3f5a6d7c8b9a0f",
                    "actor": "key:abcdefghijk23456",
                    "tenant": "default",
                    "action": KeyAction.ENCRYPT,
                    "target": "alice",
                    "outcome": "success",
                    "itemCount": 1,
                    "clientAddr": "203.0.113.7",
                    "detail": None,
                    "segment": "s1",
                    "seq": 41,
                    "hash": "9a0f…",
                }
            ],
            "nextCursor": "41",
        }
    )
    records: list[RecordOut]
    nextCursor: str | None


def _page(p: Page) -> RecordsOut:
    return RecordsOut(
        records=[
            RecordOut(
                id=r.id,
                ts=r.ts,
                requestId=r.request_id,
                actor=r.actor,
                tenant=r.tenant,
                action=r.action,
                target=r.target,
                outcome=r.outcome,
                itemCount=r.item_count,
                clientAddr=r.client_addr,
                detail=r.detail,
                segment=r.segment,
                seq=r.seq,
                hash=r.hash,
            )
            for r in p.records
        ],
        nextCursor=p.next_cursor,
    )


Auditing = Annotated[Auditor, Depends(auditor)]


@router.get("/records", response_model=RecordsOut)
async def records(a: Auditing, q: Annotated[RecordsQuery, Query()]) -> RecordsOut:
    """Records in write order, filtered; ``target`` also matches its keyed HMAC."""
    tenants = _tenants(a, q.tenant)
    f = RecordFilter(q.start, q.end, q.actor, tenants, q.action, outcome=q.outcome)
    return _page(await a.svc.audit_queries.records(f, q.target, q.cursor, q.limit))


@router.get("/lookup", response_model=RecordsOut)
async def lookup(a: Auditing, q: Annotated[LookupQuery, Query()]) -> RecordsOut:
    """Which records mention ``value`` (an identifier in clear, or the keyed HMAC of a
    sensitive identifier or of free text), for an auditor who already knows it."""
    f = RecordFilter(q.start, q.end, tenants=_tenants(a, q.tenant))
    return _page(await a.svc.audit_queries.lookup(q.value, f, q.cursor, q.limit))
