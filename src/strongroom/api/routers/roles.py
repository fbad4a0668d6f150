"""Roles: the built-ins and the tenant's custom roles (access/roles.py).

``roles:read`` lists and shows; ``roles:write`` creates, replaces and deletes a
custom role in the request's tenant, granting only what the caller itself holds.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Response
from pydantic import BaseModel, Field

from strongroom.access.permissions import Permission
from strongroom.access.rbac import BUILTIN_ROLES, Grant
from strongroom.access.resources import MAX_PATTERN_LENGTH, PATTERN_REGEX
from strongroom.access.roles import PATTERN, ROLE_NAME, RoleView, parse_grants
from strongroom.api.routers.access_keys import Caller, caller
from strongroom.api.schemas import Strict, examples

router = APIRouter(prefix="/api/v1/roles", tags=["roles"])
RoleName = Annotated[str, Path(pattern=f"^{ROLE_NAME.pattern}$", examples=["auditor"])]
# A custom role may not take a built-in's name (the server refuses it: say so up front).
CustomRoleName = Annotated[
    str,
    Path(
        pattern=f"^{ROLE_NAME.pattern}$",
        json_schema_extra={"not": {"enum": sorted(BUILTIN_ROLES)}},
        description="A custom role's name: not one of the built-in roles",
        examples=["billing"],
    ),
]


class GrantIn(Strict):
    permission: str = Field(
        pattern=f"^(?:{PATTERN.pattern})$", description="resource:action, resource:* or *"
    )
    scope: Literal["tenant", "own"] = "tenant"
    resource: Annotated[str, Field(max_length=MAX_PATTERN_LENGTH, pattern=PATTERN_REGEX)] | None = (
        Field(
            default=None,
            description="Only the objects this pattern reaches (docs/secrets.md, access): "
            "a path, + for one segment, a final * for anything below; absent: all",
            examples=["apps/billing/*"],
        )
    )


class RoleIn(Strict):
    model_config = examples(
        {
            "grants": [{"permission": Permission.KEYS_ENCRYPT, "scope": "tenant"}],
            "description": "encrypts for the billing service",
        }
    )
    grants: Annotated[list[GrantIn], Field(min_length=1, max_length=64)]
    description: Annotated[str, Field(max_length=500)] = ""


class GrantOut(BaseModel):
    permission: str
    scope: str
    resource: str | None = None

    @classmethod
    def of(cls, g: Grant) -> GrantOut:
        return cls(permission=g.pattern, scope=g.scope.value, resource=g.resource)


_ROLE_EXAMPLE = {
    "name": "billing",
    "builtin": False,
    "grants": [{"permission": Permission.KEYS_ENCRYPT, "scope": "tenant"}],
    "description": "encrypts for the billing service",
    "updatedAt": "2026-01-01T00:00:00Z",
}


class RoleOut(BaseModel):
    model_config = examples(_ROLE_EXAMPLE)
    name: str
    builtin: bool
    grants: list[GrantOut]
    description: str
    updatedAt: datetime | None

    @classmethod
    def of(cls, v: RoleView) -> RoleOut:
        grants = [GrantOut.of(g) for g in v.grants]
        return cls(
            name=v.name,
            builtin=v.builtin,
            grants=grants,
            description=v.description,
            updatedAt=v.updated_at,
        )


class RoleListOut(BaseModel):
    model_config = examples({"roles": [_ROLE_EXAMPLE]})
    roles: list[RoleOut]


@router.get("", response_model=RoleListOut)
async def list_roles(c: Annotated[Caller, Depends(caller(Permission.ROLES_READ))]) -> RoleListOut:
    views = await c.svc.roles.list_roles(c.actor.tenant)
    return RoleListOut(roles=[RoleOut.of(v) for v in views])


@router.get("/{name}", response_model=RoleOut)
async def show_role(
    name: RoleName, c: Annotated[Caller, Depends(caller(Permission.ROLES_READ))]
) -> RoleOut:
    return RoleOut.of(await c.svc.roles.get(c.actor.tenant, name))


@router.put(
    "/{name}",
    response_model=RoleOut,
    responses={201: {"model": RoleOut, "description": "Created"}},
)
async def put_role(
    name: CustomRoleName,
    body: RoleIn,
    response: Response,
    c: Annotated[Caller, Depends(caller(Permission.ROLES_WRITE))],
) -> RoleOut:
    """Create (201) or replace (200) a custom role of the request's tenant."""
    grants = parse_grants([(g.permission, g.scope, g.resource) for g in body.grants])
    view, created = await c.svc.roles.put(c.actor, c.who, name, grants, body.description)
    response.status_code = 201 if created else 200
    return RoleOut.of(view)


@router.delete("/{name}", status_code=204)
async def delete_role(
    name: CustomRoleName, c: Annotated[Caller, Depends(caller(Permission.ROLES_WRITE))]
) -> Response:
    await c.svc.roles.delete(c.actor, name)
    return Response(status_code=204)
