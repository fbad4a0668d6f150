"""Request dependencies: the services, the authenticated principal, its permission."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader

from strongroom.access.models import Principal
from strongroom.audit.models import Actor, AuditEvent, Outcome
from strongroom.errors import Forbidden
from strongroom.services.container import Services

# auto_error=False: a missing key must go through our audited AUTH001 path.
api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False)


def services(request: Request) -> Services:
    svc: Services = request.app.state.services
    return svc


def client_addr(request: Request) -> str | None:
    return request.client.host if request.client else None


async def principal(
    request: Request,
    svc: Annotated[Services, Depends(services)],
    key: Annotated[str | None, Depends(api_key_header)],
) -> Principal:
    return await svc.access.authenticate(key, request.state.request_id, client_addr(request))


def require(permission: str) -> Callable[..., Awaitable[Actor]]:
    """Dependency giving the acting principal as an audit ``Actor`` if it may ``permission``."""

    async def dependency(
        request: Request,
        svc: Annotated[Services, Depends(services)],
        who: Annotated[Principal, Depends(principal)],
    ) -> Actor:
        actor = Actor(who.id, who.tenant, request.state.request_id, client_addr(request))
        if not who.can(permission):
            await svc.audit.append(
                AuditEvent(actor, "authz.denied", Outcome.DENIED, detail={"permission": permission})
            )
            raise Forbidden()
        return actor

    return dependency
