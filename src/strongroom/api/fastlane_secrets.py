"""The fast lane's one GET: a secret's current version (``GET
/api/v1/secrets/data/{path}`` without a query), the vault's everyday read.

The same steps as the route's own dependency (``api/routers/secrets.on_path``:
authenticate, check the path, authorize ``secrets:read`` on it) and endpoint (the
service's read, ``SecretOut`` as FastAPI would serialize it), run on the ASGI scope
inside the same frame (api/fastlane.py). Anything else on that prefix — a query
(``?version=``, ``?label=``, or a mistake FastAPI must refuse), a path FastAPI's
own validation would refuse before authenticating, a mounted root path — goes to
FastAPI untouched, so every refusal keeps its framework answer."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from fastapi.routing import APIRoute
from starlette.responses import JSONResponse, Response
from starlette.types import Scope

from strongroom.access.permissions import Permission
from strongroom.api.deps import authenticate_in
from strongroom.api.secret_schemas import SecretOut
from strongroom.secrets.models import PATH_REGEX, check_path
from strongroom.services.container import Services

PREFIX = "/api/v1/secrets/data/"
ROUTE = PREFIX + "{path:path}"
_PATH = re.compile(PATH_REGEX)
_MAX = 512  # the route's own max_length (api/routers/secrets.SecretPath)


def secret_read_route(routes: Iterable[Any]) -> APIRoute | None:
    """The FastAPI route this lane stands in for (its template names the request in
    metrics and the access log)."""
    for route in routes:
        if isinstance(route, APIRoute) and route.path == ROUTE and "GET" in (route.methods or ()):
            return route
    return None


def takes(scope: Scope) -> bool:
    if scope["method"] != "GET" or scope.get("query_string") or scope.get("root_path"):
        return False
    path: str = scope["path"]
    if not path.startswith(PREFIX):
        return False
    rest = path[len(PREFIX) :]
    return len(rest) <= _MAX and _PATH.match(rest) is not None


async def read_current(scope: Scope) -> Response:
    svc: Services = scope["app"].state.services
    ctx = await authenticate_in(scope, svc)
    path = check_path(scope["path"][len(PREFIX) :])
    await svc.guard.authorize(ctx, Permission.SECRETS_READ, resource=path)
    got = await svc.secrets.read(ctx.actor, path)
    # What FastAPI's serialize_response gives for the route's response_model.
    return JSONResponse(SecretOut.of(got).model_dump(mode="json"))
