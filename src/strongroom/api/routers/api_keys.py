"""Projects and stored third-party API keys (docs/credentials.md).

- ``POST /api/v1/projects`` (projects:write), ``GET`` list (projects:read, filtered),
  ``GET|DELETE /api/v1/projects/{project}`` (read; write, only when empty)
- ``POST|GET /api/v1/projects/{project}/api-keys`` (api-keys:write on
  ``project/name``; api-keys:read, the list filtered key by key)
- ``GET|PATCH|DELETE …/api-keys/{key}`` (read; write; write)
- ``POST …/{key}/rotate|revoke|block|unblock`` (api-keys:write)
- ``POST …/{key}/reveal`` (api-keys:reveal, which only a grant naming it gives)

Grants may name a resource pattern: a project for ``projects:*``, ``project/key`` for
``api-keys:*`` (``billing/*``). The value is write-only: no answer but reveal's holds it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from strongroom.access.guard import RequestContext
from strongroom.access.permissions import Permission
from strongroom.api.api_key_schemas import (
    ApiKeyCreate,
    ApiKeyListOut,
    ApiKeyOut,
    ApiKeyPatch,
    ProjectCreate,
    ProjectListOut,
    ProjectOut,
    ReasonBody,
    RevealOut,
    RotateBody,
    UsableOut,
    sensitivity,
)
from strongroom.api.deps import api_key_header, app_services, authenticate
from strongroom.context import Actor
from strongroom.credentials.contract import Sensitivity
from strongroom.credentials.models import NAME_REGEX, KeyChange, NewKey, check_name, resource
from strongroom.services.container import Services

router = APIRouter(prefix="/api/v1/projects", tags=["api-keys"])
NameParam = Annotated[
    str, Path(min_length=1, max_length=64, pattern=NAME_REGEX, examples=["billing"])
]
KeyParam = Annotated[
    str, Path(min_length=1, max_length=64, pattern=NAME_REGEX, examples=["stripe"])
]
KEYS = "/{project}/api-keys"
ONE = KEYS + "/{key}"


@dataclass(frozen=True)
class Call:
    actor: Actor
    svc: Services
    ctx: RequestContext
    project: str
    key: str = ""


async def _read(
    request: Request, svc: Services, ctx: RequestContext, p: Permission, t: str | None
) -> None:
    """A read leaves its record before it runs (access/guard.py ``record_read``)."""
    route = getattr(request.scope.get("route"), "path", "-")
    await svc.guard.record_read(ctx, p, route, t)


def on_project(permission: Permission) -> Callable[..., Awaitable[Call]]:
    async def dependency(
        request: Request,
        project: NameParam,
        _doc: Annotated[str | None, Depends(api_key_header)] = None,
    ) -> Call:
        svc = app_services(request)
        ctx = await authenticate(request, svc)
        await svc.guard.authorize(ctx, permission, resource=check_name(project))
        if request.method == "GET":
            await _read(request, svc, ctx, permission, project)
        return Call(ctx.actor, svc, ctx, project)

    return dependency


def on_key(permission: Permission) -> Callable[..., Awaitable[Call]]:
    async def dependency(
        request: Request,
        project: NameParam,
        key: KeyParam,
        _doc: Annotated[str | None, Depends(api_key_header)] = None,
    ) -> Call:
        svc = app_services(request)
        ctx = await authenticate(request, svc)
        name = resource(check_name(project), check_name(key))
        await svc.guard.authorize(ctx, permission, resource=name)
        if request.method == "GET":
            await _read(request, svc, ctx, permission, name)
        return Call(ctx.actor, svc, ctx, project, key)

    return dependency


ProjectReader = Annotated[Call, Depends(on_project(Permission.PROJECTS_READ))]
ProjectWriter = Annotated[Call, Depends(on_project(Permission.PROJECTS_WRITE))]
KeyReader = Annotated[Call, Depends(on_key(Permission.API_KEYS_READ))]
KeyWriter = Annotated[Call, Depends(on_key(Permission.API_KEYS_WRITE))]
KeyRevealer = Annotated[Call, Depends(on_key(Permission.API_KEYS_REVEAL))]
KeyUser = Annotated[Call, Depends(on_key(Permission.API_KEYS_USE))]


class ListQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    cursor: Annotated[str | None, Field(max_length=512)] = None
    limit: Annotated[int, Field(ge=1, le=1000)] = 100


@router.post("", status_code=201, response_model=ProjectOut, summary="Create a project")
async def create_project(
    request: Request,
    body: ProjectCreate,
    _doc: Annotated[str | None, Depends(api_key_header)] = None,
) -> ProjectOut:
    """409 APK002 when the name is taken."""
    svc = app_services(request)
    ctx = await authenticate(request, svc)
    await svc.guard.authorize(ctx, Permission.PROJECTS_WRITE, resource=body.name)
    return ProjectOut.of(await svc.projects.create(ctx.actor, body.name, body.description))


@router.get("", response_model=ProjectListOut, summary="List projects the caller may read")
async def list_projects(
    request: Request,
    q: Annotated[ListQuery, Query()],
    _doc: Annotated[str | None, Depends(api_key_header)] = None,
) -> ProjectListOut:
    svc = app_services(request)
    ctx = await authenticate(request, svc)
    await svc.guard.authorize(ctx, Permission.PROJECTS_READ, anywhere=True)
    await _read(request, svc, ctx, Permission.PROJECTS_READ, None)
    reach = svc.guard.reach(ctx, Permission.PROJECTS_READ)
    # The cursor is the last name of the previous page (any string pages correctly).
    found = await svc.projects.list(ctx.actor, q.cursor or None, q.limit)
    cursor = found[-1].name if len(found) == q.limit else None
    return ProjectListOut(
        projects=[ProjectOut.of(p) for p in found if reach(p.name)], cursor=cursor
    )


@router.get("/{project}", response_model=ProjectOut, summary="Read a project")
async def get_project(c: ProjectReader) -> ProjectOut:
    return ProjectOut.of(await c.svc.projects.get(c.actor, c.project))


@router.delete("/{project}", status_code=204, summary="Delete an empty project")
async def delete_project(c: ProjectWriter) -> Response:
    """409 APK012 while it holds keys."""
    await c.svc.projects.delete(c.actor, c.project)
    return Response(status_code=204)


@router.post(KEYS, status_code=201, response_model=ApiKeyOut, summary="Store an API key")
async def create_key(
    request: Request,
    project: NameParam,
    body: ApiKeyCreate,
    _doc: Annotated[str | None, Depends(api_key_header)] = None,
) -> ApiKeyOut:
    """The value is sealed and never returned. 404 APK001 no such project, 409 APK002
    name taken, 400 APK004 host, APK005 injection, APK006 network, APK013 value."""
    svc = app_services(request)
    ctx = await authenticate(request, svc)
    name = resource(check_name(project), check_name(body.name))
    await svc.guard.authorize(ctx, Permission.API_KEYS_WRITE, resource=name)
    new = NewKey(
        name=body.name,
        value=body.value,
        provider=body.provider,
        hosts=body.hosts,
        allowed_networks=body.allowedNetworks,
        injection=body.injection.to_domain(),
        expires_at=body.expiresAt,
        rotate_after_days=body.rotateAfterDays or None,
        rotation_hook=body.rotationHook,
        owners=body.owners,
        tags=body.tags,
        sensitivity=Sensitivity(body.sensitivity),
    )
    return ApiKeyOut.of(await svc.api_keys.create(ctx.actor, project, new))


@router.get(KEYS, response_model=ApiKeyListOut, summary="List keys the caller may read")
async def list_keys(
    request: Request,
    project: NameParam,
    q: Annotated[ListQuery, Query()],
    _doc: Annotated[str | None, Depends(api_key_header)] = None,
) -> ApiKeyListOut:
    """Only keys the caller may read appear; ``cursor`` pages on."""
    svc = app_services(request)
    ctx = await authenticate(request, svc)
    await svc.guard.authorize(ctx, Permission.API_KEYS_READ, anywhere=True)
    await _read(request, svc, ctx, Permission.API_KEYS_READ, check_name(project))
    reach = svc.guard.reach(ctx, Permission.API_KEYS_READ)
    page = await svc.api_keys.list(ctx.actor, project, reach, q.cursor, q.limit)
    return ApiKeyListOut(keys=[ApiKeyOut.of(k) for k in page.items], cursor=page.cursor)


@router.get(ONE, response_model=ApiKeyOut, summary="Read a stored key (never its value)")
async def get_key(c: KeyReader) -> ApiKeyOut:
    return ApiKeyOut.of(await c.svc.api_keys.get(c.actor, c.project, c.key))


@router.patch(ONE, response_model=ApiKeyOut, summary="Change a stored key's settings")
async def patch_key(c: KeyWriter, body: ApiKeyPatch) -> ApiKeyOut:
    """``version``: compare-and-set (409 APK003 when another change came first)."""
    change = KeyChange(
        version=body.version,
        provider=body.provider,
        hosts=body.hosts,
        allowed_networks=body.allowedNetworks,
        injection=body.injection.to_domain() if body.injection else None,
        expires_at=body.expiresAt,
        clear_expiry=body.clearExpiry,
        rotate_after_days=body.rotateAfterDays,
        rotation_hook=body.rotationHook,
        owners=body.owners,
        tags=body.tags,
        sensitivity=sensitivity(body.sensitivity),
    )
    return ApiKeyOut.of(await c.svc.api_keys.update(c.actor, c.project, c.key, change))


@router.delete(ONE, status_code=204, summary="Delete a stored key and its values")
async def delete_key(c: KeyWriter) -> Response:
    await c.svc.api_keys.delete(c.actor, c.project, c.key)
    return Response(status_code=204)


@router.post(ONE + "/rotate", response_model=ApiKeyOut, summary="Rotate (two slots)")
async def rotate_key(c: KeyWriter, body: RotateBody) -> ApiKeyOut:
    """A new ``value``, or ``hook: true`` for the key's rotation hook. Any failure leaves
    the current value serving (502 APK010 the hook failed, ``details.step``)."""
    done = await c.svc.api_key_rotation.rotate(
        c.actor, c.project, c.key, body.value, hook=body.hook, request_token=body.requestToken
    )
    return ApiKeyOut.of(done)


@router.post(ONE + "/revoke", response_model=ApiKeyOut, summary="Revoke for good")
async def revoke_key(c: KeyWriter, body: ReasonBody | None = None) -> ApiKeyOut:
    """Both values leave the database; every replica refuses the key within 0.5 s."""
    reason = body.reason if body else None
    return ApiKeyOut.of(await c.svc.api_keys.revoke(c.actor, c.project, c.key, reason))


@router.post(ONE + "/block", response_model=ApiKeyOut, summary="Block (reversible)")
async def block_key(c: KeyWriter, body: ReasonBody | None = None) -> ApiKeyOut:
    reason = body.reason if body else None
    return ApiKeyOut.of(await c.svc.api_keys.block(c.actor, c.project, c.key, reason))


@router.post(ONE + "/unblock", response_model=ApiKeyOut, summary="Unblock")
async def unblock_key(c: KeyWriter) -> ApiKeyOut:
    return ApiKeyOut.of(await c.svc.api_keys.unblock(c.actor, c.project, c.key))


@router.get(ONE + "/usable", response_model=UsableOut, summary="May the caller use it now?")
async def usable_key(c: KeyUser) -> UsableOut:
    """What the broker would do with this key now, without calling upstream: 200 when
    it would inject it; 409 APK007 revoked, 423 APK008 blocked, 410 APK009 expired
    (the answer every replica gives within 0.5 s of a change)."""
    target = await c.svc.api_key_use.for_use(c.actor, c.project, c.key)
    overlap = target.previous is not None
    return UsableOut(project=c.project, name=c.key, hosts=list(target.hosts), overlap=overlap)


@router.post(ONE + "/reveal", response_model=RevealOut, summary="Reveal the value (audited)")
async def reveal_key(c: KeyRevealer) -> RevealOut:
    """Needs a grant naming ``api-keys:reveal`` (``*`` and ``api-keys:*`` never give
    it); audited before the value leaves."""
    info, value = await c.svc.api_keys.reveal(c.actor, c.project, c.key)
    return RevealOut(
        project=info.project, name=info.name, version=info.version, value=value.decode()
    )


__all__ = ["router"]
