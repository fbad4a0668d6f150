"""HTTP request dependencies: gather what a request presents, hand it to the access
guard (access/guard.py) and give routes the acting ``Actor``, the parsed body and the
services. No policy lives here: the guard decides, the same for every transport."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Request
from fastapi.responses import Response
from fastapi.security import APIKeyHeader
from pydantic import BaseModel, ValidationError
from starlette.types import Scope

from strongroom.access.guard import Certificate, Presented, RequestContext
from strongroom.access.permissions import Permission
from strongroom.api.idempotency import claim_after_authentication
from strongroom.api.tls_server import PEER
from strongroom.context import Actor
from strongroom.errors import InvalidInput
from strongroom.services.container import Services

M = TypeVar("M", bound=BaseModel)

# auto_error=False: a missing key must go through our audited AUTH001 path.
api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False)


def app_services(request: Request) -> Services:
    svc: Services = request.app.state.services
    return svc


async def services(request: Request) -> Services:
    """Async on purpose: FastAPI runs a sync dependency in a worker thread."""
    return app_services(request)


_WANTED = (b"authorization", b"x-api-key", b"x-tenant-id")


def presented_in(scope: Scope, svc: Services) -> Presented:
    """What the request presents, for the guard, read from the ASGI scope in one pass
    over its headers (the first of a repeated header, as Starlette's ``Headers.get``).
    Only the ``Bearer`` scheme of ``Authorization`` is a bearer token; any other
    scheme is not ours and is ignored."""
    wanted: tuple[bytes, ...] = _WANTED
    forwarded = svc.guard.forwarded_header if svc.guard.wants_certificates else None
    if forwarded:
        wanted = (*_WANTED, forwarded.lower().encode("latin-1"))
    found: dict[bytes, str] = {}
    for name, value in scope["headers"]:
        if name in wanted and name not in found:
            found[name] = value.decode("latin-1")
    scheme, _, token = (found.get(b"authorization") or "").partition(" ")
    bearer = token.strip() if scheme.lower() == "bearer" else None
    cert = None
    if svc.guard.wants_certificates:
        extensions: dict[str, Any] = scope.get("extensions") or {}
        cert = Certificate(
            tuple((extensions.get("tls") or {}).get("client_cert_chain") or ()),
            found.get(wanted[-1]) if forwarded else None,
            # The socket peer, never the client address: that one may come from
            # X-Forwarded-For.
            extensions.get(PEER),
        )
    client = scope.get("client")
    return Presented(
        scope["state"]["request_id"],
        client[0] if client else None,
        found.get(b"x-api-key"),
        bearer,
        found.get(b"x-tenant-id"),
        cert,
    )


async def authenticate(request: Request, svc: Services) -> RequestContext:
    return await authenticate_in(request.scope, svc)


async def authenticate_in(scope: Scope, svc: Services) -> RequestContext:
    """The guard's first step; the context is kept in the request's state for the
    RateLimit headers (api/middleware.py) and for ``record_rejected``. A write's
    ``Idempotency-Key`` is claimed here (api/idempotency.py)."""
    ctx = await svc.guard.authenticate(presented_in(scope, svc))
    state = scope["state"]
    state["rate_limit"] = ctx.quota
    state["context"] = ctx
    if "idempotency" in state:  # the write's Idempotency-Key, now that we know whose
        await claim_after_authentication(scope, svc.idempotency, ctx.actor.tenant, ctx.principal.id)
    return ctx


def _route(request: Request) -> str:
    return getattr(request.scope.get("route"), "path", "-")


_READS = frozenset({"GET", "HEAD"})


async def admit(request: Request, svc: Services, permission: Permission) -> RequestContext:
    """Authenticate and authorize ``permission`` (on the path's ``userId`` when there is
    one); a read leaves its record before it runs."""
    ctx = await authenticate(request, svc)
    params = request.path_params
    user_id = params.get("userId")
    await svc.guard.authorize(ctx, permission, user_id)
    if request.method in _READS:
        target = user_id if user_id is not None else _read_target(params)
        await svc.guard.record_read(
            ctx, permission, _route(request), target, user_target=user_id is not None
        )
    return ctx


def _read_target(params: dict[str, Any]) -> str | None:
    """What a read is about, for its record: an access key, a certificate, a CA."""
    for name in ("keyId", "fingerprint", "authority"):
        if params.get(name) is not None:
            return str(params[name])
    return None


def require(permission: Permission) -> Callable[[Request], Awaitable[Actor]]:
    """Dependency: ``admit`` the request for ``permission``; gives the acting ``Actor``.
    ``api_key_header`` documents the scheme in OpenAPI."""

    async def dependency(
        request: Request, _doc: Annotated[str | None, Depends(api_key_header)] = None
    ) -> Actor:
        return (await admit(request, app_services(request), permission)).actor

    return dependency


def require_context(permission: Permission) -> Callable[[Request], Awaitable[RequestContext]]:
    """Like ``require``, keeping the principal (whose grants bound what it may hand out,
    or whether it may read every tenant)."""

    async def dependency(
        request: Request, _doc: Annotated[str | None, Depends(api_key_header)] = None
    ) -> RequestContext:
        return await admit(request, app_services(request), permission)

    return dependency


async def record_rejected(request: Request, code: str) -> None:
    """For an authenticated request refused after authentication by a path that wrote
    no record itself: one failure record (access/guard.py)."""
    ctx: RequestContext | None = getattr(request.state, "context", None)
    svc: Services | None = getattr(request.app.state, "services", None)
    if ctx is None or svc is None:
        return
    await svc.guard.record_rejected(ctx.actor, code, _route(request))


@dataclass(frozen=True, slots=True)
class Call(Generic[M]):
    """What a data endpoint needs: who acts, the validated body, the services."""

    actor: Actor
    body: M
    svc: Services


# Declared per operation instead of through a sub-dependency: same OpenAPI, one
# fewer dependency for FastAPI to solve on every hot-path request.
API_KEY_SECURITY: dict[str, Any] = {"security": [{"APIKeyHeader": []}]}


def authorized_call(
    permission: Permission, model: type[M]
) -> Callable[[Request], Awaitable[Call[M]]]:
    """One flat dependency for the data endpoints: authenticate, parse the body, then
    authorize on its ``userId`` and draw its items from the budgets (an unauthenticated
    caller learns nothing about its body). FastAPI's per-dependency overhead is a
    measurable share of a batch request. The same steps run on the bare ASGI scope in
    the fast lane (api/fastlane.py), registered in ``FAST_LANE``."""

    async def run(scope: Scope, body: Callable[[], Awaitable[bytes]]) -> Call[M]:
        svc: Services = scope["app"].state.services
        ctx = await authenticate_in(scope, svc)
        parsed = parse_json(model, await body())
        items = len(getattr(parsed, "data", ()))
        await svc.guard.authorize(ctx, permission, getattr(parsed, "userId", None), items=items)
        return Call(ctx.actor, parsed, svc)

    async def dependency(request: Request) -> Call[M]:
        return await run(request.scope, request.body)

    FAST_LANE[dependency] = run
    return dependency


# Dependencies whose steps also run on the bare ASGI scope (``authorized_call``), so
# that api/fastlane.py may run their routes without FastAPI's dependency solver and
# without Starlette's request object: dependency -> run(scope, read the body).
FAST_LANE: dict[
    Callable[[Request], Awaitable[Any]],
    Callable[[Scope, Callable[[], Awaitable[bytes]]], Awaitable[Any]],
] = {}
# Constraints pydantic puts in an error's ``ctx`` that come from the schema, never from
# the input: the allowed values of an enum or literal, bounds, lengths, patterns.
_SCHEMA_CTX = {
    "expected": "allowed",
    "pattern": "pattern",
    "min_length": "minLength",
    "max_length": "maxLength",
    "ge": "minimum",
    "le": "maximum",
    "gt": "exclusiveMinimum",
    "lt": "exclusiveMaximum",
}
_LOC_PART = 64  # an unknown field's name is the caller's: named, but not at any length


def validation_details(errors: list[Any], prefix: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """Where, what kind and what is allowed: never pydantic's ``input`` (the caller's
    data) nor ``ctx`` entries other than the schema's own constraints."""
    out = []
    for e in errors[:20]:
        loc = [*prefix, *(str(p)[:_LOC_PART] for p in e.get("loc", ()))]
        item: dict[str, Any] = {"loc": loc, "type": e.get("type", "invalid")}
        ctx = e.get("ctx") or {}
        for key, name in _SCHEMA_CTX.items():
            value = ctx.get(key)
            if isinstance(value, str | int | float):
                item[name] = value
        out.append(item)
    return out


def parse_json(model: type[M], raw: bytes) -> M:
    """Parse and validate a body in one pass with pydantic's JSON parser (faster than
    FastAPI's json.loads + validate on large batches)."""
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        raise InvalidInput(errors=validation_details(exc.errors(), ("body",))) from None


# Bodies documented by ``body_doc``: api/openapi.py adds them to the named schemas.
DOCUMENTED_BODIES: list[type[BaseModel]] = []


def body_doc(model: type[BaseModel]) -> dict[str, Any]:
    """``openapi_extra`` that documents a body parsed by ``parse_json`` as a named schema
    (and the credentials that ``authorized_call`` checks)."""
    if model not in DOCUMENTED_BODIES:
        DOCUMENTED_BODIES.append(model)
    schema = {"$ref": f"#/components/schemas/{model.__name__}"}
    content = {"application/json": {"schema": schema}}
    return {"requestBody": {"required": True, "content": content}, **API_KEY_SECURITY}


def json_response(model: BaseModel) -> Response:
    """Serialise once in pydantic's core; FastAPI would validate the model again."""
    return Response(model.model_dump_json(), media_type="application/json")
