"""Roles: the built-ins and the tenant's custom roles (access/roles.py).

``roles:read`` lists and shows; ``roles:write`` creates, replaces and deletes a
custom role in the request's tenant, granting only what the caller itself holds.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Response
from pydantic import BaseModel, ConfigDict, Field

from strongroom.access.permissions import Permission
from strongroom.access.rbac import Grant
from strongroom.access.roles import RoleView, parse_grants
from strongroom.api.routers.access_keys import Caller, caller

router = APIRouter(prefix="/api/v1/roles", tags=["roles"])
RoleName = Annotated[str, Path(max_length=64)]


class GrantIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    permission: str = Field(max_length=64, description="resource:action, resource:* or *")
    scope: Literal["tenant", "own"] = "tenant"


class RoleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    grants: Annotated[list[GrantIn], Field(min_length=1, max_length=64)]
    description: Annotated[str, Field(max_length=500)] = ""


class GrantOut(BaseModel):
    permission: str
    scope: str

    @classmethod
    def of(cls, g: Grant) -> GrantOut:
        return cls(permission=g.pattern, scope=g.scope.value)


class RoleOut(BaseModel):
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


@router.put("/{name}", response_model=RoleOut)
async def put_role(
    name: RoleName,
    body: RoleIn,
    response: Response,
    c: Annotated[Caller, Depends(caller(Permission.ROLES_WRITE))],
) -> RoleOut:
    """Create (201) or replace (200) a custom role of the request's tenant."""
    grants = parse_grants([(g.permission, g.scope) for g in body.grants])
    view, created = await c.svc.roles.put(c.actor, c.who, name, grants, body.description)
    response.status_code = 201 if created else 200
    return RoleOut.of(view)


@router.delete("/{name}", status_code=204)
async def delete_role(
    name: RoleName, c: Annotated[Caller, Depends(caller(Permission.ROLES_WRITE))]
) -> Response:
    await c.svc.roles.delete(c.actor, name)
    return Response(status_code=204)
