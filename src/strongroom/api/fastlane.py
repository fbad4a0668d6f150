"""The fast lane: the data endpoints without the framework's per-request layers.

``POST /api/v1/encrypt`` and its siblings are the everyday call, usually one user's
few fields. Behind FastAPI each one passed six middleware layers, the router's scan
of every route and the dependency solver before any of our code ran: about a fifth
of a single-item request's CPU (profile in bench/README.md). Here a request for one
of those paths goes straight to the steps of the route's own dependency
(``authorized_call``: authenticate, parse, authorize), run on the ASGI scope without
Starlette's request object, and to its endpoint function, whose response goes out
as Starlette would send it; all inside the same frame as
every other request (``RequestContextMiddleware``: request id, body limit, request
boundary, security and RateLimit headers, metrics, access log) and with the same
error mapping (``api/errors.respond``). The routes stay declared in FastAPI, so
OpenAPI, the interactive docs and every other method on those paths (405) are
unchanged; everything else goes to FastAPI untouched. One GET takes the lane too: a
vault secret's current version (api/fastlane_secrets.py).

Off when something must see every request through FastAPI's own stack: browser CORS
headers or OpenTelemetry's ASGI instrumentation.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from strongroom.api import errors
from strongroom.api import fastlane_secrets as secrets_lane
from strongroom.api.deps import FAST_LANE


@dataclass(frozen=True, slots=True)
class FastRoute:
    route: APIRoute  # for the metrics' and the access log's route template
    run: Callable[[Scope, Callable[[], Awaitable[bytes]]], Awaitable[Any]]  # the dependency
    endpoint: Callable[[Any], Awaitable[Response]]


def fast_routes(app: FastAPI) -> dict[str, FastRoute]:
    """The app's ``POST`` routes whose one parameter is a single flat dependency that
    takes the request (``api/deps.authorized_call``): path -> how to run it."""
    found: dict[str, FastRoute] = {}
    for route in _walk(list(app.routes)):
        if not isinstance(route, APIRoute) or route.methods != {"POST"}:
            continue
        dependant = route.dependant
        if len(dependant.dependencies) != 1 or dependant.path_params or dependant.query_params:
            continue
        run = FAST_LANE.get(dependant.dependencies[0].call)  # type: ignore[arg-type]
        if run is None:
            continue
        found[route.path] = FastRoute(route, run, route.endpoint)
    return found


def _walk(routes: list[Any]) -> Iterator[Any]:
    """Every route, through FastAPI's included routers (api/routers are included
    without a prefix of their own: each router carries its full ``/api/v1`` prefix)."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from _walk(list(inner.routes))
        else:
            yield route


class FastLane:
    """ASGI: the fast routes through ``frame`` (a ``RequestContextMiddleware`` around
    ``self.handle``), every other request to ``fallback`` (FastAPI's own stack)."""

    def __init__(self, app: FastAPI, fallback: ASGIApp, frame: Callable[[ASGIApp], ASGIApp]):
        self._app = app
        self._routes = fast_routes(app)
        self._fallback = fallback
        self._framed = frame(self.handle)
        # The vault's read of a current version (api/fastlane_secrets.py).
        self.secret_route = secrets_lane.secret_read_route(_walk(list(app.routes)))
        self._framed_secret = frame(self.handle_secret)

    @property
    def paths(self) -> frozenset[str]:
        return frozenset(self._routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"] in self._routes:
            scope["app"] = self._app  # request.app, as Starlette would set it
            scope["route"] = self._routes[scope["path"]].route
            await self._framed(scope, receive, send)
        elif scope["type"] == "http" and self.secret_route and secrets_lane.takes(scope):
            scope["app"] = self._app
            scope["route"] = self.secret_route
            await self._framed_secret(scope, receive, send)
        else:
            await self._fallback(scope, receive, send)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        fast = self._routes[scope["path"]]
        try:
            response = await fast.endpoint(await fast.run(scope, partial(read_body, receive)))
        except ClientDisconnect:
            raise  # nobody to answer: the frame counts it as 499
        except Exception as exc:
            handled = await errors.respond(Request(scope, receive), exc)
            if handled is None:
                raise
            response = handled
        await _send(response, scope, receive, send)

    async def handle_secret(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            response = await secrets_lane.read_current(scope)
        except Exception as exc:
            handled = await errors.respond(Request(scope, receive), exc)
            if handled is None:
                raise
            response = handled
        await _send(response, scope, receive, send)


async def _send(response: Response, scope: Scope, receive: Receive, send: Send) -> None:
    if response.background is None and type(response) in _PLAIN:
        # What Response.__call__ sends, without its indirections.
        await send(
            {
                "type": "http.response.start",
                "status": response.status_code,
                "headers": response.raw_headers,
            }
        )
        await send({"type": "http.response.body", "body": response.body})
    else:
        await response(scope, receive, send)


_PLAIN = (Response, JSONResponse)


async def read_body(receive: Receive) -> bytes:
    """The request body, as Starlette's ``Request.body`` reads it (a disconnect first
    is ``ClientDisconnect``; the frame's size limit raises from ``receive``)."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.request":
            body = message.get("body", b"")
            if body:
                chunks.append(body)
            if not message.get("more_body", False):
                return b"".join(chunks)
        elif message["type"] == "http.disconnect":
            raise ClientDisconnect()
