"""Request dependencies: the services, the authenticated principal, its permission."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Request
from fastapi.responses import Response
from fastapi.security import APIKeyHeader
from pydantic import BaseModel, ValidationError

from strongroom.access.models import Principal
from strongroom.access.policy import Credentials
from strongroom.api.mtls import mtls_principal, require_mtls
from strongroom.audit.models import AuditEvent, Outcome
from strongroom.config import DEFAULT_TENANT
from strongroom.context import Actor
from strongroom.errors import AuthenticationFailed, Forbidden, InvalidInput, NotFound
from strongroom.services.container import Services, scope_to_tenant

M = TypeVar("M", bound=BaseModel)
DECRYPT = "keys:decrypt"  # also draws on the distinct-users budget
_TENANT = re.compile(r"[A-Za-z0-9._-]{1,64}")

# auto_error=False: a missing key must go through our audited AUTH001 path.
api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False)


def app_services(request: Request) -> Services:
    svc: Services = request.app.state.services
    return svc


async def services(request: Request) -> Services:
    """Async on purpose: FastAPI runs a sync dependency in a worker thread."""
    return app_services(request)


def client_addr(request: Request) -> str | None:
    return request.client.host if request.client else None


def require(permission: str) -> Callable[[Request], Awaitable[Actor]]:
    """Dependency: authenticate ``X-API-Key`` and check ``permission`` (on the path's
    ``userId`` when there is one); gives the acting principal as an audit ``Actor``.
    ``api_key_header`` documents the scheme in OpenAPI."""

    async def dependency(
        request: Request, _doc: Annotated[str | None, Depends(api_key_header)] = None
    ) -> Actor:
        svc = app_services(request)
        who, actor = await authenticate(request, svc)
        await require_mtls(request, svc, actor, permission)
        await check(svc, who, actor, permission, request.path_params.get("userId"))
        await record_read(svc, request, actor, permission)
        return actor

    return dependency


_READS = frozenset({"GET", "HEAD"})


async def record_read(svc: Services, request: Request, actor: Actor, permission: str) -> None:
    """Reads change nothing and their services record nothing, yet every authenticated
    request leaves a record (docs/audit-format.md "What is recorded"): written before
    the read runs, so a read whose record cannot be written does not happen."""
    if request.method not in _READS:
        return
    params = request.path_params
    user_id, other = params.get("userId"), params.get("keyId")
    route = getattr(request.scope.get("route"), "path", "-")
    await svc.audit.append(
        AuditEvent(
            actor,
            "api.read",
            Outcome.SUCCESS,
            user_id if user_id is not None else other,
            detail={"permission": permission, "route": route},
            target_kind="userId" if user_id is not None else None,
        )
    )


async def record_rejected(request: Request, code: str) -> None:
    """For an authenticated request refused after authentication (invalid body, rate
    limit, ...) by a path that wrote no record itself: one failure record."""
    actor: Actor | None = getattr(request.state, "actor", None)
    svc: Services | None = getattr(request.app.state, "services", None)
    if actor is None or svc is None or svc.audit.recorded(actor.request_id):
        return
    route = getattr(request.scope.get("route"), "path", "-")
    await svc.audit.append(
        AuditEvent(actor, "api.rejected", Outcome.FAILURE, detail={"code": code, "route": route})
    )


def credentials(request: Request, mtls: Principal | None = None) -> Credentials:
    """What the request presents. Only the ``Bearer`` scheme of ``Authorization`` is a
    bearer token; any other scheme is not ours and is ignored, as before."""
    scheme, _, token = (request.headers.get("authorization") or "").partition(" ")
    bearer = token.strip() if scheme.lower() == "bearer" else None
    return Credentials(request.headers.get("x-api-key"), bearer, mtls)


async def authenticate(request: Request, svc: Services) -> tuple[Principal, Actor]:
    """The principal, and the actor it is in this request's tenant (see access.rbac)."""
    addr = client_addr(request)
    rid = request.state.request_id
    await svc.limits.before_authentication(addr)
    mtls = await mtls_principal(request, svc)  # a mapped client certificate, or None
    try:
        # Access key, bearer token and certificate combine by policy (access/policy.py).
        who = await svc.auth.authenticate(credentials(request, mtls), rid, addr)
    except AuthenticationFailed:
        await svc.limits.authentication_failed(addr)
        raise
    # The budget's state goes out as RateLimit headers (api/middleware.py).
    request.state.rate_limit = await svc.limits.request(who)
    named = request.headers.get("x-tenant-id")
    if who.spans_tenants:
        tenant = named or DEFAULT_TENANT
        if not _TENANT.fullmatch(tenant):
            raise InvalidInput("bad X-Tenant-Id")
    elif named is not None and named != who.tenant:
        # Another tenant's objects do not exist for this principal.
        actor = Actor(who.id, who.tenant, rid, addr)
        await _denied(svc, actor, "tenant")
        raise NotFound()
    else:
        tenant = who.tenant
    actor = Actor(who.id, tenant, rid, addr)
    request.state.actor = actor  # for record_rejected
    # PostgreSQL row-level security: from here on this request sees only its
    # tenant's rows, whatever a query forgets (principals across tenants: all).
    scope_to_tenant(None if who.spans_tenants else tenant)
    return who, actor


async def check(
    svc: Services, who: Principal, actor: Actor, permission: str, owner: str | None
) -> None:
    if not who.can(permission, actor.tenant, owner):
        await _denied(svc, actor, permission)
        raise Forbidden()


async def _denied(svc: Services, actor: Actor, permission: str) -> None:
    await svc.audit.append(
        AuditEvent(actor, "authz.denied", Outcome.DENIED, detail={"permission": permission})
    )


@dataclass(frozen=True, slots=True)
class Call(Generic[M]):
    """What a data endpoint needs: who acts, the validated body, the services."""

    actor: Actor
    body: M
    svc: Services


# Declared per operation instead of through a sub-dependency: same OpenAPI, one
# fewer dependency for FastAPI to solve on every hot-path request.
API_KEY_SECURITY: dict[str, Any] = {"security": [{"APIKeyHeader": []}]}


def authorized_call(permission: str, model: type[M]) -> Callable[[Request], Awaitable[Call[M]]]:
    """One flat dependency for the data endpoints: authenticate, parse the body, then
    authorize on its ``userId`` (an unauthenticated caller learns nothing about its body).
    FastAPI's per-dependency overhead is a measurable share of a batch request."""
    parse = json_body(model)

    async def dependency(request: Request) -> Call[M]:
        svc = app_services(request)
        who, actor = await authenticate(request, svc)
        await require_mtls(request, svc, actor, permission)
        body = await parse(request)
        user_id = getattr(body, "userId", None)
        await check(svc, who, actor, permission, user_id)
        await svc.limits.items(who, len(getattr(body, "data", ())))
        if permission == DECRYPT and user_id is not None:
            await svc.limits.decrypt_user(who, actor.tenant, user_id)
        return Call(actor, body, svc)

    return dependency


def validation_details(errors: list[Any], prefix: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """Where and what kind only: pydantic's ``input`` and ``ctx`` may echo the caller's data."""
    return [
        {"loc": [*prefix, *(str(p) for p in e.get("loc", ()))], "type": e.get("type", "invalid")}
        for e in errors[:20]
    ]


def json_body(model: type[M]) -> Callable[[Request], Awaitable[M]]:
    """Parse and validate the body in one pass with pydantic's JSON parser (faster than
    FastAPI's json.loads + validate on large batches). Document it with ``body_doc``."""

    async def parse(request: Request) -> M:
        try:
            return model.model_validate_json(await request.body())
        except ValidationError as exc:
            raise InvalidInput(errors=validation_details(exc.errors(), ("body",))) from None

    return parse


def body_doc(model: type[BaseModel]) -> dict[str, Any]:
    """``openapi_extra`` that documents a body parsed by ``json_body`` (and the API key
    that ``authorized_call`` checks)."""
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    content = {"application/json": {"schema": schema}}
    return {"requestBody": {"required": True, "content": content}, **API_KEY_SECURITY}


def json_response(model: BaseModel) -> Response:
    """Serialise once in pydantic's core; FastAPI would validate the model again."""
    return Response(model.model_dump_json(), media_type="application/json")
