"""The vault: ``/api/v1/secrets/...`` in OpenBao KV v2's layout (docs/secrets.md).

KV v2 (mount ``secret``) -> Strongroom (permission on the path):

- ``GET secret/data/:path``        -> ``GET /api/v1/secrets/data/{path}`` (read)
- ``POST secret/data/:path``       -> ``PUT /api/v1/secrets/data/{path}`` (write)
- ``PATCH secret/data/:path``      -> ``PATCH /api/v1/secrets/data/{path}`` (write)
- ``DELETE secret/data/:path``     -> ``DELETE /api/v1/secrets/data/{path}`` (delete)
- ``POST secret/delete/:path``     -> ``POST /api/v1/secrets/delete/{path}`` (delete)
- ``POST secret/undelete/:path``   -> ``POST /api/v1/secrets/undelete/{path}`` (delete)
- ``POST secret/destroy/:path``    -> ``POST /api/v1/secrets/destroy/{path}`` (destroy)
- ``GET secret/metadata/:path``    -> ``GET /api/v1/secrets/metadata/{path}`` (read)
- ``PATCH secret/metadata/:path``  -> ``PATCH /api/v1/secrets/metadata/{path}`` (admin)
- ``DELETE secret/metadata/:path`` -> ``DELETE /api/v1/secrets/metadata/{path}`` (destroy)
- ``LIST secret/metadata/:prefix`` -> ``GET /api/v1/secrets?prefix=&meta.k=v`` (list)
- (none)                           -> ``POST /api/v1/secrets/promote/{path}`` (write)

Each route checks its permission on the secret's path (grants may name path
patterns), then calls one service method.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from strongroom.access.guard import RequestContext
from strongroom.access.permissions import Permission
from strongroom.api.deps import api_key_header, app_services, authenticate
from strongroom.api.secret_schemas import (
    SecretListOut,
    SecretMetadataOut,
    SecretMetadataPatch,
    SecretOut,
    SecretPatch,
    SecretPromoteBody,
    SecretVersionsBody,
    SecretVersionsOut,
    SecretWrite,
    SecretWriteOut,
)
from strongroom.context import Actor
from strongroom.errors import InvalidQuery
from strongroom.secrets.lifecycle import MetadataChange
from strongroom.secrets.models import PATH_REGEX, Label, check_path
from strongroom.secrets.service import WriteRequest
from strongroom.services.container import Services

router = APIRouter(prefix="/api/v1/secrets", tags=["secrets"])
PATH_DOC = "A secret's path: segments of [A-Za-z0-9._-] separated by /"
# Checked by secrets.models.check_path (ENC001), after authentication.
SecretPath = Annotated[
    str,
    Path(
        description=PATH_DOC,
        max_length=512,
        pattern=PATH_REGEX,
        examples=["apps/billing/stripe"],
    ),
]
META = "meta."


@dataclass(frozen=True)
class SecretCall:
    actor: Actor
    path: str
    svc: Services
    ctx: RequestContext


def on_path(permission: Permission) -> Callable[..., Awaitable[SecretCall]]:
    """Authenticate, check the path's form, then ``permission`` on that path."""

    async def dependency(
        request: Request,
        path: SecretPath,
        _doc: Annotated[str | None, Depends(api_key_header)] = None,
    ) -> SecretCall:
        svc = app_services(request)
        ctx = await authenticate(request, svc)
        path = check_path(path)
        await svc.guard.authorize(ctx, permission, resource=path)
        return SecretCall(ctx.actor, path, svc, ctx)

    return dependency


Reader = Annotated[SecretCall, Depends(on_path(Permission.SECRETS_READ))]
Writer = Annotated[SecretCall, Depends(on_path(Permission.SECRETS_WRITE))]
Deleter = Annotated[SecretCall, Depends(on_path(Permission.SECRETS_DELETE))]
Destroyer = Annotated[SecretCall, Depends(on_path(Permission.SECRETS_DESTROY))]
Admin = Annotated[SecretCall, Depends(on_path(Permission.SECRETS_ADMIN))]


class ReadQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: Annotated[int, Field(ge=1, le=2**31 - 1)] | None = None
    label: Literal["current", "pending", "previous"] | None = None


@router.get("/data/{path:path}", response_model=SecretOut, summary="Read a version")
async def read_secret(c: Reader, q: Annotated[ReadQuery, Query()]) -> SecretOut:
    """The ``current`` version, or ``?version=N`` / ``?label=pending``. 404 SEC001 no
    such secret or version, 404 SEC002 deleted or destroyed, 410 SEC004 expired."""
    label = Label(q.label) if q.label else None
    return SecretOut.of(await c.svc.secrets.read(c.actor, c.path, q.version, label))


@router.put("/data/{path:path}", response_model=SecretWriteOut, summary="Write a new version")
async def write_secret(c: Writer, body: SecretWrite) -> SecretWriteOut:
    req = WriteRequest(
        body.data,
        body.options.cas,
        expires_at=body.expiresAt,
        label=Label(body.label),
        request_token=body.requestToken,
    )
    return SecretWriteOut.of(await c.svc.secrets.write(c.actor, c.path, req))


@router.patch(
    "/data/{path:path}", response_model=SecretWriteOut, summary="Merge-patch a new version"
)
async def patch_secret(c: Writer, body: SecretPatch) -> SecretWriteOut:
    req = WriteRequest(
        body.data,
        body.options.cas,
        patch=True,
        expires_at=body.expiresAt,
        request_token=body.requestToken,
    )
    return SecretWriteOut.of(await c.svc.secrets.write(c.actor, c.path, req))


@router.delete("/data/{path:path}", response_model=SecretVersionsOut, summary="Soft-delete current")
async def delete_current(c: Deleter) -> SecretVersionsOut:
    hit = await c.svc.secret_lifecycle.delete(c.actor, c.path, None)
    return SecretVersionsOut(path=c.path, versions=hit)


@router.post(
    "/delete/{path:path}", response_model=SecretVersionsOut, summary="Soft-delete versions"
)
async def delete_versions(c: Deleter, body: SecretVersionsBody) -> SecretVersionsOut:
    hit = await c.svc.secret_lifecycle.delete(c.actor, c.path, body.versions)
    return SecretVersionsOut(path=c.path, versions=hit)


@router.post("/undelete/{path:path}", response_model=SecretVersionsOut, summary="Undelete versions")
async def undelete_versions(c: Deleter, body: SecretVersionsBody) -> SecretVersionsOut:
    hit = await c.svc.secret_lifecycle.undelete(c.actor, c.path, body.versions)
    return SecretVersionsOut(path=c.path, versions=hit)


@router.post("/destroy/{path:path}", response_model=SecretVersionsOut, summary="Destroy versions")
async def destroy_versions(c: Destroyer, body: SecretVersionsBody) -> SecretVersionsOut:
    """The sealed values of these versions leave the database for good."""
    hit = await c.svc.secret_lifecycle.destroy(c.actor, c.path, body.versions)
    return SecretVersionsOut(path=c.path, versions=hit)


@router.post("/promote/{path:path}", response_model=SecretMetadataOut, summary="Promote a version")
async def promote(c: Writer, body: SecretPromoteBody) -> SecretMetadataOut:
    """Rotation's last step: the pending version (or ``version``) becomes ``current``,
    the old current ``previous``. Repeating it changes nothing."""
    return SecretMetadataOut.of(await c.svc.secret_lifecycle.promote(c.actor, c.path, body.version))


@router.get("/metadata/{path:path}", response_model=SecretMetadataOut, summary="Read metadata")
async def read_metadata(c: Reader) -> SecretMetadataOut:
    meta = await c.svc.secret_lifecycle.metadata(c.actor, c.path, record=True)
    return SecretMetadataOut.of(meta)


@router.patch("/metadata/{path:path}", response_model=SecretMetadataOut, summary="Change settings")
async def patch_metadata(c: Admin, body: SecretMetadataPatch) -> SecretMetadataOut:
    change = MetadataChange(body.maxVersions, body.deleteVersionAfter, body.customMetadata)
    return SecretMetadataOut.of(
        await c.svc.secret_lifecycle.update_metadata(c.actor, c.path, change)
    )


@router.delete("/metadata/{path:path}", status_code=204, summary="Delete the whole secret")
async def purge(c: Destroyer) -> Response:
    """Every version, every sealed value and the metadata."""
    await c.svc.secret_lifecycle.purge(c.actor, c.path)
    return Response(status_code=204)


class ListQuery(BaseModel):
    # ``meta.<key>=<value>`` pairs are the only other parameters (checked below).
    model_config = ConfigDict(extra="allow")
    prefix: Annotated[str, Field(max_length=512)] = ""
    cursor: Annotated[str | None, Field(max_length=2048)] = None
    limit: Annotated[int, Field(ge=1, le=1000)] = 100


def _meta(q: ListQuery) -> list[tuple[str, str]]:
    pairs = []
    for name, value in (q.model_extra or {}).items():
        if not name.startswith(META) or not isinstance(value, str):
            raise InvalidQuery(errors=[{"loc": ["query", name[:64]], "type": "extra_forbidden"}])
        pairs.append((name[len(META) :], value))
    return pairs


@router.get(
    "",
    response_model=SecretListOut,
    summary="List secrets the caller may read",
    openapi_extra={
        "parameters": [
            {
                "name": "meta.{key}",
                "in": "query",
                "required": False,
                "description": "customMetadata filter: meta.env=prod (AND, at most 10)",
                "schema": {"type": "string"},
            }
        ]
    },
)
async def list_secrets(
    request: Request,
    q: Annotated[ListQuery, Query()],
    _doc: Annotated[str | None, Depends(api_key_header)] = None,
) -> SecretListOut:
    """Paths in order, only those the caller may both list and read (names it may not
    read never appear, however the grants are drawn); ``cursor`` pages on."""
    svc = app_services(request)
    ctx = await authenticate(request, svc)
    meta = _meta(q)
    await svc.guard.authorize(ctx, Permission.SECRETS_LIST, anywhere=True)
    reach = svc.guard.reach(ctx, Permission.SECRETS_LIST, Permission.SECRETS_READ)
    page = await svc.secret_listing.list(
        ctx.actor, reach, reach.prefixes, q.prefix, meta, q.cursor, q.limit
    )
    return SecretListOut(keys=list(page.paths), cursor=page.cursor)


__all__ = ["PATH_DOC", "SecretPath", "router"]
