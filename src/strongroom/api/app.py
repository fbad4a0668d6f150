"""``create_app(settings)``: the single composition root of the HTTP service."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import sys
from collections.abc import AsyncIterator

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from pydantic import ValidationError
from pydantic_settings import SettingsError
from starlette.types import ASGIApp, Receive, Scope, Send

from strongroom import __version__
from strongroom.api import errors, openapi
from strongroom.api.admission import AdmissionMiddleware
from strongroom.api.fastlane import FastLane
from strongroom.api.middleware import RequestContextMiddleware
from strongroom.api.routers import ROUTERS
from strongroom.api.schemas import ErrorOut
from strongroom.config import Settings, describe_error_line
from strongroom.mcp.http import McpHttp, build_edge, metadata_path
from strongroom.observability.telemetry import configure_telemetry
from strongroom.services.container import Services, build_services, enter_system_scope

ERROR_RESPONSES = {
    code: {"model": ErrorOut} for code in (400, 401, 403, 404, 409, 410, 413, 500, 503)
}


def create_app(
    settings: Settings, services: Services | None = None, *, fast_lane: bool = True
) -> FastAPI:
    """``fast_lane=False`` sends the data endpoints through FastAPI's own stack too
    (tests compare both ways)."""
    svc = services or build_services(settings)
    # The MCP server (mcp/http.py), a sibling edge served by this app at /mcp.
    mcp_edge = build_edge(lambda: app_services(app), settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # System work (start-up, change feed, scheduler) in the lifespan's own task and
        # the tasks it starts; requests run elsewhere and choose their tenant.
        enter_system_scope()
        await svc.start()
        # Everything alive now (modules, routes, schemas) lives as long as the process:
        # move it out of the collector's view so full collections stay short (they
        # otherwise walk ~10^5 long-lived objects and show up as latency spikes).
        gc.collect()
        gc.freeze()
        tasks = [asyncio.create_task(svc.feed.run())]
        if svc.hints is not None:
            tasks.append(asyncio.create_task(svc.hints.run()))
        if settings.keys.scheduler.enabled:  # scheduled jobs, once cluster-wide
            tasks.append(asyncio.create_task(svc.jobs.run()))
        try:
            # The MCP sessions' task group: a mounted app's own lifespan never runs.
            async with mcp_edge.running():
                yield
        finally:
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            if services is None:
                await svc.close()
            provider = getattr(app.state, "tracer_provider", None)
            if provider is not None:
                provider.shutdown()  # flush the last spans

    app = StrongroomAPI(
        title="Strongroom",
        version=__version__,
        description="Per-user encryption and key management. Every /api/v1 call needs "
        "credentials: an access key (X-API-Key), an OIDC bearer token or a client "
        "certificate, as configured. Every POST and PATCH takes an optional "
        "Idempotency-Key header (1-255 printable ASCII characters, e.g. a UUID): a "
        "repeat gets the first answer again with Idempotent-Replayed: true "
        "(docs/idempotency.md; IDEM001 400, IDEM002 422, IDEM003 409). Not declared per "
        "operation: a generated client must never share one key between requests. "
        "Errors: README, table of error codes.",
        lifespan=lifespan,
        responses=ERROR_RESPONSES,  # type: ignore[arg-type]
        docs_url=None,  # served by api/openapi.py from the package's own assets
        redoc_url=None,  # ReDoc would load its script from a CDN
    )
    app.state.services = svc
    app.state.mcp = mcp_edge
    for router in ROUTERS:
        app.include_router(router)
    if settings.mcp.enabled:
        _mount_mcp(app, mcp_edge, settings)
    openapi.install(app)
    errors.install(app)
    if settings.server.cors_allow_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.server.cors_allow_origins,  # exact origins; never "*" with keys
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "X-API-Key", "X-Tenant-Id"],
            expose_headers=["X-Request-Id", "Retry-After", "RateLimit", "RateLimit-Policy"],
            max_age=600,
        )
    reporter = configure_telemetry(settings.telemetry, app)
    frame = functools.partial(
        RequestContextMiddleware,
        max_body=settings.server.max_body_bytes,
        report=reporter,
        log_client_addr="clientAddr" not in settings.audit.sensitive_identifiers,
    )
    app.add_middleware(frame.func, **frame.keywords)
    # CORS headers and OpenTelemetry spans come from FastAPI's own middleware stack.
    lane = (
        fast_lane
        and not settings.server.cors_allow_origins
        and not settings.telemetry.otel_endpoint
    )
    inner: ASGIApp = functools.partial(FastAPI.__call__, app)
    if lane:
        inner = FastLane(app, inner, frame)
    server = settings.server
    app.front = AdmissionMiddleware(
        inner, server.max_in_flight, server.max_queue, server.max_queue_wait_seconds
    )
    return app


def _mount_mcp(app: FastAPI, edge: McpHttp, settings: Settings) -> None:
    """``/mcp`` and its RFC 9728 metadata, outside OpenAPI (MCP is not REST). Routes,
    not a Mount: a Mount would redirect ``/mcp`` to ``/mcp/``."""
    from starlette.routing import Route

    methods = ["GET", "POST", "DELETE"]
    app.router.routes.append(Route("/mcp", edge, methods=methods, include_in_schema=False))
    for path in {metadata_path(settings.mcp.resource_url), metadata_path("http://h/mcp")}:
        app.router.routes.append(
            Route(path, edge.metadata, methods=["GET"], include_in_schema=False)
        )


def app_services(app: FastAPI) -> Services:
    svc: Services = app.state.services
    return svc


class StrongroomAPI(FastAPI):
    """FastAPI behind admission control (api/admission.py) and, for the data
    endpoints, the fast lane (api/fastlane.py). Lifespan and everything that is not
    HTTP go straight to FastAPI."""

    front: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.front is not None and scope["type"] == "http":
            await self.front(scope, receive, send)
        else:
            await super().__call__(scope, receive, send)


def app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory`` workers: settings from the environment."""
    from strongroom.logging import configure_logging

    try:
        settings = Settings()
    except (ValidationError, SettingsError) as exc:
        print(describe_error_line(exc), file=sys.stderr)
        raise SystemExit(2) from None
    configure_logging(settings.logging.level)
    return create_app(settings)
