"""Access keys: create (the key is shown once), list, show, rotate, revoke.

Routes need ``access-keys:<action>`` in the request's tenant; the service then checks
the key's own tenant (another tenant's key answers 404 like a missing one) and that
the caller holds every role of a key it creates, rotates or revokes (access/lifecycle.py).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Body, Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from strongroom.access.models import Principal
from strongroom.access.permissions import Permission
from strongroom.access.roles import ROLE_NAME
from strongroom.access.views import AccessKeyState, AccessKeyView
from strongroom.api.deps import admit, api_key_header, app_services
from strongroom.api.schemas import Strict, Timestamp, examples
from strongroom.context import Actor
from strongroom.services.container import Services

router = APIRouter(prefix="/api/v1/access-keys", tags=["access-keys"])

KEY_ID = r"^[a-z2-7]{16}$"
Tenant = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._-]{1,64}$")]
Role = Annotated[str, StringConstraints(pattern=f"^{ROLE_NAME.pattern}$")]
KeyIdPath = Annotated[str, Path(max_length=32, examples=["abcdefghijk23456"])]
MAX_GRACE_SECONDS = 30 * 86400
_WHEN = "2027-01-01T00:00:00Z"


@dataclass(frozen=True)
class Caller:
    who: Principal
    actor: Actor
    svc: Services


def caller(permission: Permission) -> Callable[..., Awaitable[Caller]]:
    """Authenticate and check ``permission`` in the request's tenant; unlike
    ``deps.require`` it keeps the principal, whose grants bound what it may hand out."""

    async def dependency(
        request: Request, _doc: Annotated[str | None, Depends(api_key_header)] = None
    ) -> Caller:
        svc = app_services(request)
        ctx = await admit(request, svc, permission)
        return Caller(ctx.principal, ctx.actor, svc)

    return dependency


class CreateAccessKeyRequest(Strict):
    model_config = examples(
        {"roles": ["encrypt-only"], "description": "billing service", "expiresAt": _WHEN}
    )
    roles: Annotated[list[Role], Field(min_length=1, max_length=20)]
    description: Annotated[str, Field(max_length=500)] = ""
    tenant: Tenant | None = Field(default=None, description="Default: the request's tenant")
    expiresAt: Timestamp | None = None


class RotateAccessKeyRequest(Strict):
    model_config = examples({"graceSeconds": 3600})
    graceSeconds: Annotated[float | None, Field(ge=0, le=MAX_GRACE_SECONDS)] = Field(
        default=None,
        description="How long the previous key keeps working (default: configuration, 24 h)",
    )


_KEY_EXAMPLE = {
    "id": "abcdefghijk23456",
    "tenant": "default",
    "roles": ["encrypt-only"],
    "description": "billing service",
    "state": "active",
    "createdAt": "2026-01-01T00:00:00Z",
    "createdBy": "key:aaaaaaaaaaaaaaaa",
    "expiresAt": _WHEN,
    "revokedAt": None,
    "rotatedAt": None,
    "previousKeyValidUntil": None,
    "lastUsedAt": None,
    "lastUsedAddr": None,
}


class AccessKeyOut(BaseModel):
    model_config = examples(_KEY_EXAMPLE)
    id: str
    tenant: str
    roles: list[str]
    description: str
    state: AccessKeyState
    createdAt: datetime
    createdBy: str | None
    expiresAt: datetime | None
    revokedAt: datetime | None
    rotatedAt: datetime | None
    previousKeyValidUntil: datetime | None
    lastUsedAt: datetime | None
    lastUsedAddr: str | None

    @classmethod
    def of(cls, v: AccessKeyView) -> AccessKeyOut:
        return cls(
            id=v.id,
            tenant=v.tenant,
            roles=list(v.roles),
            description=v.description,
            state=v.state,
            createdAt=v.created_at,
            createdBy=v.created_by,
            expiresAt=v.expires_at,
            revokedAt=v.revoked_at,
            rotatedAt=v.rotated_at,
            previousKeyValidUntil=v.previous_valid_until,
            lastUsedAt=v.last_used_at,
            lastUsedAddr=v.last_used_addr,
        )


class IssuedAccessKeyOut(AccessKeyOut):
    model_config = examples({**_KEY_EXAMPLE, "key": "srk_live_abcdefghijk23456_…"})
    key: str = Field(description="The full access key. Shown only in this response.")

    @classmethod
    def issued(cls, v: AccessKeyView, key: str) -> IssuedAccessKeyOut:
        return cls(**AccessKeyOut.of(v).model_dump(), key=key)


class AccessKeyPage(BaseModel):
    model_config = examples({"accessKeys": [_KEY_EXAMPLE], "nextCursor": "abcdefghijk23456"})
    accessKeys: list[AccessKeyOut]
    nextCursor: str | None = Field(description="Pass as `cursor` for the next page")


@router.post("", status_code=201, response_model=IssuedAccessKeyOut)
async def create_access_key(
    body: CreateAccessKeyRequest,
    c: Annotated[Caller, Depends(caller(Permission.ACCESS_KEYS_CREATE))],
) -> IssuedAccessKeyOut:
    tenant = body.tenant or c.actor.tenant
    view, key = await c.svc.access_keys.create(
        c.actor, c.who, tenant, body.roles, body.description, body.expiresAt
    )
    return IssuedAccessKeyOut.issued(view, key)


class ListQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")  # an unknown parameter is refused (REQ004)
    tenant: Tenant | None = None
    limit: Annotated[int, Field(ge=1, le=500)] = 100
    cursor: Annotated[str | None, Field(pattern=KEY_ID)] = None


@router.get("", response_model=AccessKeyPage)
async def list_access_keys(
    c: Annotated[Caller, Depends(caller(Permission.ACCESS_KEYS_READ))],
    q: Annotated[ListQuery, Query()],
) -> AccessKeyPage:
    """Ordered by id. Without ``tenant``: the caller's tenant, or every tenant for a
    principal that spans tenants."""
    views, after = await c.svc.access_keys.list_keys(c.who, q.tenant, q.limit, q.cursor)
    return AccessKeyPage(accessKeys=[AccessKeyOut.of(v) for v in views], nextCursor=after)


@router.get("/{keyId}", response_model=AccessKeyOut)
async def show_access_key(
    keyId: KeyIdPath, c: Annotated[Caller, Depends(caller(Permission.ACCESS_KEYS_READ))]
) -> AccessKeyOut:
    return AccessKeyOut.of(await c.svc.access_keys.show(c.actor, c.who, keyId))


@router.post("/{keyId}/rotate", response_model=IssuedAccessKeyOut)
async def rotate_access_key(
    keyId: KeyIdPath,
    c: Annotated[Caller, Depends(caller(Permission.ACCESS_KEYS_ROTATE))],
    body: Annotated[RotateAccessKeyRequest | None, Body()] = None,
) -> IssuedAccessKeyOut:
    """A new key (same id) that works at once; the previous one keeps working for the
    grace period, then stops. Rotating again inside the grace ends the older key."""
    grace = body.graceSeconds if body else None
    view, key = await c.svc.access_keys.rotate(c.actor, c.who, keyId, grace)
    return IssuedAccessKeyOut.issued(view, key)


@router.post("/{keyId}/revoke", response_model=AccessKeyOut)
async def revoke_access_key(
    keyId: KeyIdPath, c: Annotated[Caller, Depends(caller(Permission.ACCESS_KEYS_REVOKE))]
) -> AccessKeyOut:
    """Refused at once by this replica, by every other within
    ``access_key_cache_ttl_seconds`` (default 5 s)."""
    return AccessKeyOut.of(await c.svc.access_keys.revoke(c.actor, c.who, keyId))
