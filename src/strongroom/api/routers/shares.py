"""Shares: create, list, show, revoke, access log (``/api/v1/shares``) and redeem.

Redeeming is ``POST /api/v1/shares/redeem`` with the token in the body: a token never
travels in a URL the server sees (access logs, traces and proxies record URLs), and a
GET or HEAD of anything reveals and consumes nothing (link previewers fetch links).
Credentials are optional there: needed only for a share restricted to principals.

Management permissions (``shares:read``, ``shares:revoke``) held at ``tenant`` scope
cover every share of the tenant; at ``own`` scope only those the caller created.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from starlette.convertors import StringConvertor, register_url_convertor

from strongroom.access.guard import RequestContext
from strongroom.access.permissions import Permission
from strongroom.api.deps import api_key_header, app_services, authenticate, presented_in
from strongroom.api.share_schemas import (
    SHARE_ID,
    AccessOut,
    AccessPage,
    AccessQuery,
    CreatedShareOut,
    CreateShareRequest,
    ListQuery,
    RedeemRequest,
    RevealedOut,
    ShareOut,
    SharePage,
)
from strongroom.errors import InvalidInput
from strongroom.secrets.shares_models import Encoding, NewShare, PassphraseRequired, ShareGone
from strongroom.secrets.shares_redeem import Redeemer
from strongroom.services.container import Services

router = APIRouter(prefix="/api/v1/shares", tags=["shares"])


class ShareIdConvertor(StringConvertor):
    """Only a share id matches ``{shareId:shareid}``: ``/api/v1/shares/redeem`` is
    then no GET of a share named "redeem" (and its 405 names only POST in ``Allow``)."""

    regex = SHARE_ID[1:-1]


register_url_convertor("shareid", ShareIdConvertor())
ID = "/{shareId:shareid}"
ShareIdPath = Annotated[str, Path(pattern=SHARE_ID, examples=["abcdefghijk23456"])]
Scoped = tuple[Services, RequestContext, str | None]


async def _scoped(
    request: Request, permission: Permission
) -> tuple[Services, RequestContext, str | None]:
    """Authenticate; (services, context, None) when ``permission`` is held for the whole
    tenant, else (…, the caller's own id) when it is held for its own objects only.
    Neither: 403, audited by the guard."""
    svc = app_services(request)
    ctx = await authenticate(request, svc)
    if ctx.principal.can(permission, ctx.actor.tenant):
        mine = None
    else:
        await svc.guard.authorize(ctx, permission, ctx.principal.id)
        mine = ctx.principal.id
    if request.method == "GET":
        route = getattr(request.scope.get("route"), "path", "-")
        target = request.path_params.get("shareId")
        await svc.guard.record_read(ctx, permission, route, target)
    return svc, ctx, mine


def _caller(permission: Permission) -> Callable[..., Awaitable[Scoped]]:
    async def dependency(
        request: Request, _doc: Annotated[str | None, Depends(api_key_header)] = None
    ) -> tuple[Services, RequestContext, str | None]:
        return await _scoped(request, permission)

    return dependency


def _value(body: CreateShareRequest) -> bytes | None:
    if body.value is None:
        return None
    if body.encoding == "base64":
        try:
            return base64.b64decode(body.value, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidInput("value is not base64", field="value") from None
    return body.value.encode()


async def _may_share(svc: Services, ctx: RequestContext, path: str) -> bool:
    """May the caller share what it names? Only what it may read itself (the vault's
    path grants): a refusal is audited and answered 403 by the guard."""
    await svc.guard.authorize(ctx, Permission.SECRETS_READ, resource=path)
    return True


@router.post("", status_code=201, response_model=CreatedShareOut)
async def create_share(
    body: CreateShareRequest, c: Annotated[Scoped, Depends(_caller(Permission.SHARES_CREATE))]
) -> CreatedShareOut:
    """A share of one value (``value``) or of a vault secret's version (``source``).
    The token is returned once; hand it to the holder (``/s#<token>`` opens the page)."""
    svc, ctx, _ = c
    new = NewShare(
        expires_in_seconds=body.expiresInSeconds,
        views=body.views,
        value=_value(body),
        encoding=Encoding(body.encoding),
        source=(body.source.path, body.source.version) if body.source else None,
        passphrase=body.passphrase,
        client_encrypted=body.clientEncrypted,
        tenant_only=body.tenantOnly,
        principals=tuple(body.principals),
    )
    authorized = body.source is not None and await _may_share(svc, ctx, body.source.path)
    view, token = await svc.shares.create(ctx.actor, new, source_authorized=authorized)
    return CreatedShareOut(share=ShareOut.of(view), token=token)


# Credentials are optional here ({}): only a restricted share wants them.
_OPTIONAL_CREDENTIALS: dict[str, Any] = {"security": [{}, {"APIKeyHeader": []}]}


@router.post("/redeem", response_model=RevealedOut, openapi_extra=_OPTIONAL_CREDENTIALS)
async def redeem_share(request: Request, body: RedeemRequest) -> RevealedOut:
    """Reveal the value and take one view. Credentials only for a restricted share.
    Unknown, used-up, expired, revoked and locked shares all answer 404 ``SHR001``; a
    missing or wrong passphrase 403 ``SHR002`` (counted, never a view)."""
    svc = app_services(request)
    p = presented_in(request.scope, svc)
    cert = p.certificate
    if p.api_key or p.bearer or (cert is not None and (cert.chain or cert.forwarded)):
        ctx = await authenticate(request, svc)
        who = Redeemer(ctx.actor, ctx.principal.id)
    else:
        who = Redeemer(await svc.guard.anonymous(p))
    try:
        out = await svc.shares.redeem(who, body.token, body.passphrase)
    except (ShareGone, PassphraseRequired):
        if who.principal is None:
            await svc.guard.anonymous_failed(who.actor)
        raise
    if out.encoding == Encoding.BASE64:
        text = base64.b64encode(out.value).decode()
    else:
        text = out.value.decode()
    return RevealedOut(
        value=text,
        encoding=out.encoding.value,
        clientEncrypted=out.client_encrypted,
        viewsLeft=out.views_left,
        expiresAt=out.expires_at,
    )


@router.get("", response_model=SharePage)
async def list_shares(
    c: Annotated[Scoped, Depends(_caller(Permission.SHARES_READ))],
    q: Annotated[ListQuery, Query()],
) -> SharePage:
    """The tenant's shares ordered by id (only the caller's own with ``mine=true``, or
    when ``shares:read`` is held at ``own`` scope). Never a token or a value."""
    svc, ctx, mine = c
    created_by = ctx.principal.id if q.mine else mine
    views, after = await svc.shares.list_shares(ctx.actor.tenant, created_by, q.limit, q.cursor)
    return SharePage(shares=[ShareOut.of(v) for v in views], nextCursor=after)


@router.get(ID, response_model=ShareOut)
async def show_share(
    shareId: ShareIdPath, c: Annotated[Scoped, Depends(_caller(Permission.SHARES_READ))]
) -> ShareOut:
    svc, ctx, mine = c
    return ShareOut.of(await svc.shares.show(ctx.actor.tenant, shareId, mine))


@router.get(ID + "/accesses", response_model=AccessPage)
async def share_accesses(
    shareId: ShareIdPath,
    c: Annotated[Scoped, Depends(_caller(Permission.SHARES_READ))],
    q: Annotated[AccessQuery, Query()],
) -> AccessPage:
    """Every redeem attempt that found the share: when, who, how it ended. No values."""
    svc, ctx, mine = c
    views, after = await svc.shares.accesses(ctx.actor.tenant, shareId, mine, q.limit, q.cursor)
    return AccessPage(accesses=[AccessOut.of(v) for v in views], nextCursor=after)


@router.post(ID + "/revoke", response_model=ShareOut)
async def revoke_share(
    shareId: ShareIdPath, c: Annotated[Scoped, Depends(_caller(Permission.SHARES_REVOKE))]
) -> ShareOut:
    """End the share now; its value is wiped. Idempotent."""
    svc, ctx, mine = c
    return ShareOut.of(await svc.shares.revoke(ctx.actor, shareId, mine))
