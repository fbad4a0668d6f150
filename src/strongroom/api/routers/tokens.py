"""Bearer-token revocation by ``jti`` (access/revocation.py), for administrators.

A revoked token is refused (401, audited with reason ``revoked``) on this replica at
once and on every replica within ``STRONGROOM_OIDC_REVOCATION_REFRESH_SECONDS``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from strongroom.access.permissions import Permission
from strongroom.api.deps import require, services
from strongroom.context import Actor
from strongroom.services.container import Services

router = APIRouter(prefix="/api/v1/tokens", tags=["tokens"])


class RevokeTokenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    issuer: Annotated[str, Field(min_length=1, max_length=200)]
    jti: Annotated[str, Field(min_length=1, max_length=200)]
    expiresAt: AwareDatetime | None = Field(
        default=None, description="The token's exp: the revocation can be forgotten after it"
    )


class RevokeTokenOut(BaseModel):
    revoked: bool = True
    alreadyRevoked: bool


@router.post("/revoked", status_code=201, response_model=RevokeTokenOut)
async def revoke_token(
    body: RevokeTokenRequest,
    actor: Annotated[Actor, Depends(require(Permission.TOKENS_REVOKE))],
    svc: Annotated[Services, Depends(services)],
    response: Response,
) -> RevokeTokenOut:
    """Revoke a token of a configured issuer by its ``jti``. Idempotent: 200 when the
    token was already revoked."""
    new = await svc.auth.revoke_token(actor, body.issuer, body.jti, body.expiresAt)
    if not new:
        response.status_code = 200
    return RevokeTokenOut(alreadyRevoked=not new)
