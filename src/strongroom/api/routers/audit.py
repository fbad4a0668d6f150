"""Audit trail verification and the checkpoint public key, for auditors."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from strongroom.api.deps import require, services
from strongroom.audit.models import Actor
from strongroom.services.container import Services

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])


class FindingOut(BaseModel):
    kind: str
    message: str
    segment: str | None
    seq: int | None
    record_id: int | None
    checkpoint: int | None


class VerifyOut(BaseModel):
    ok: bool
    records: int
    segments: int
    checkpoints: int
    last_checkpoint: int | None
    unchained: int
    first_bad: FindingOut | None
    findings: list[FindingOut]
    truncated: list[FindingOut]
    seconds: float


class PublicKeyOut(BaseModel):
    key_id: str
    algorithm: str = "Ed25519"
    pem: str


@router.get("/verify", response_model=VerifyOut)
async def verify(
    _actor: Annotated[Actor, Depends(require("audit:read"))],
    svc: Annotated[Services, Depends(services)],
    start: Annotated[datetime | None, Query(alias="from")] = None,
    end: Annotated[datetime | None, Query(alias="to")] = None,
) -> VerifyOut:
    """Check the trail (or records timed in [from, to]); names the first bad record."""
    r = await svc.audit_queries.verify(start, end)
    cap = 100
    return VerifyOut(
        ok=r.ok,
        records=r.records,
        segments=r.segments,
        checkpoints=r.checkpoints,
        last_checkpoint=r.last_checkpoint,
        unchained=r.unchained,
        first_bad=FindingOut(**vars(r.first_bad)) if r.first_bad else None,
        findings=[FindingOut(**vars(f)) for f in r.findings[:cap]],
        truncated=[FindingOut(**vars(f)) for f in r.truncated[:cap]],
        seconds=r.seconds,
    )


@router.get("/public-key", response_model=PublicKeyOut)
async def public_key(
    _actor: Annotated[Actor, Depends(require("audit:read"))],
    svc: Annotated[Services, Depends(services)],
) -> PublicKeyOut:
    """The Ed25519 key that signs checkpoints: verify them without any secret."""
    kid, pem = await svc.audit_queries.public_key()
    return PublicKeyOut(key_id=kid, pem=pem)
