"""Bearer-token revocation by ``jti`` (access/revocation.py), for administrators.

A revoked token is refused (401, audited with reason ``revoked``) on this replica at
once and on every replica within ``STRONGROOM_OIDC_REVOCATION_REFRESH_SECONDS``, while
it acts in the tenant the revocation was made for (access/revocation.py ``scope``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, Field

from strongroom.access.guard import RequestContext
from strongroom.access.permissions import Permission
from strongroom.api.deps import require_context, services
from strongroom.api.schemas import Strict, Timestamp, examples
from strongroom.services.container import Services

router = APIRouter(prefix="/api/v1/tokens", tags=["tokens"])


class RevokeTokenRequest(Strict):
    model_config = examples(
        {
            "issuer": "https://idp.example.com",
            "jti": "9f8e7d6c",
            "expiresAt": "2027-01-01T00:00:00Z",
        }
    )
    issuer: Annotated[str, Field(min_length=1, max_length=200)]
    jti: Annotated[str, Field(min_length=1, max_length=200)]
    expiresAt: Timestamp | None = Field(
        default=None, description="The token's exp: the revocation can be forgotten after it"
    )


class RevokeTokenOut(BaseModel):
    model_config = examples({"revoked": True, "alreadyRevoked": False})
    revoked: bool = True
    alreadyRevoked: bool


@router.post("/revoked", status_code=201, response_model=RevokeTokenOut)
async def revoke_token(
    body: RevokeTokenRequest,
    ctx: Annotated[RequestContext, Depends(require_context(Permission.TOKENS_REVOKE))],
    svc: Annotated[Services, Depends(services)],
    response: Response,
) -> RevokeTokenOut:
    """Revoke a token of a configured issuer by its ``jti``. Idempotent: 200 when the
    token was already revoked."""
    new = await svc.auth.revoke_token(
        ctx.actor,
        body.issuer,
        body.jti,
        body.expiresAt,
        spans_tenants=ctx.principal.spans_tenants,
    )
    if not new:
        response.status_code = 200
    return RevokeTokenOut(alreadyRevoked=not new)
