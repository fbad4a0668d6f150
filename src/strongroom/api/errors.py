"""The one place errors become JSON: ``{"success": false, "error": {code, message,
details}, "requestId"}``. No values, SQL or stack traces ever reach a body."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException
from starlette.routing import Match, Route

from strongroom.api.deps import record_rejected, validation_details
from strongroom.api.idempotency import Replay, replay_headers
from strongroom.errors import (
    DatabaseUnavailable,
    InternalError,
    InvalidInput,
    InvalidQuery,
    MalformedRequest,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    ServiceUnavailable,
    StrongroomError,
)

log = structlog.get_logger("strongroom.api")


def error_body(request: Request, exc: StrongroomError) -> JSONResponse:
    error: dict[str, Any] = {"code": exc.code, "message": exc.text}
    if exc.detail:
        error["details"] = exc.detail
    rid = getattr(request.state, "request_id", None)
    headers = getattr(exc, "headers", None) or None  # e.g. Retry-After, RateLimit
    return JSONResponse(
        {"success": False, "error": error, "requestId": rid},
        status_code=exc.status,
        headers=headers,
    )


async def _strongroom(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StrongroomError)
    if exc.status >= 500:
        log.error("request_failed", code=exc.code, error_type=type(exc).__name__)
    await _rejected(request, exc.code)
    return error_body(request, exc)


async def _rejected(request: Request, code: str) -> None:
    """An authenticated request refused without a record of its own gets one."""
    try:
        await record_rejected(request, code)
    except Exception as exc:  # the refusal stands either way; the trail is what failed
        log.error("audit_rejected_not_recorded", error_type=type(exc).__name__)


async def _validation(request: Request, exc: Exception) -> JSONResponse:
    """REQ004 when only query parameters are wrong (a bad filter or cursor), else
    ENC001 (the body or a path parameter)."""
    assert isinstance(exc, RequestValidationError)
    problems = list(exc.errors())
    in_query = all(tuple(e.get("loc", ()))[:1] == ("query",) for e in problems)
    err_type = InvalidQuery if problems and in_query else InvalidInput
    await _rejected(request, err_type.code)
    return error_body(request, err_type(errors=validation_details(problems)))


async def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        return error_body(request, NotFound())
    if exc.status_code == 413:
        return error_body(request, PayloadTooLarge())
    if exc.status_code == 405:
        return error_body(request, MethodNotAllowed(_allowed(request)))
    response = error_body(request, MalformedRequest())
    response.status_code = exc.status_code if 400 <= exc.status_code < 500 else 400
    return response


def _allowed(request: Request) -> str:
    """Every method of the path, for ``Allow``: Starlette names only those of the first
    route that matched the path, and a path may have several (GET and POST)."""
    methods: set[str] = set()
    for route in _routes(request.app.router.routes):
        if isinstance(route, Route) and route.methods:
            match, _ = route.matches(request.scope)
            if match != Match.NONE:
                methods |= route.methods
    return ", ".join(sorted(methods))


def _routes(routes: list[Any]) -> Iterator[Any]:
    for route in routes:
        inner = getattr(route, "original_router", None)  # FastAPI's included routers
        yield from _routes(inner.routes) if inner is not None else (route,)


def known_error(exc: BaseException) -> StrongroomError | None:
    """What an exception that no route turned into an error means to the client: the
    error itself, 503 when the connection pool had no slot in time (store/db.py
    turns every other database unavailability into ``DatabaseUnavailable``), else
    None (an unexpected failure: one opaque 500)."""
    if isinstance(exc, StrongroomError):
        return exc
    if isinstance(exc, PoolTimeout):
        return DatabaseUnavailable()
    return None


async def _database(request: Request, exc: Exception) -> JSONResponse:
    # Unavailability never gets here (store/db.py raises DatabaseUnavailable): this is
    # a statement the database refused. Still 503, failing closed: an audit record
    # written inside the operation's transaction can fail this way (a damaged trail).
    log.error("database_error", error_type=type(exc).__name__)
    return error_body(request, ServiceUnavailable())


async def _pool_timeout(request: Request, exc: Exception) -> JSONResponse:
    log.error("database_pool_exhausted")
    return error_body(request, DatabaseUnavailable())


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    known = known_error(exc)
    if known is not None:
        return await _strongroom(request, known)
    # Type only: a message or traceback could carry values.
    log.error("unhandled_exception", error_type=type(exc).__name__)
    return error_body(request, InternalError())


async def _replay(request: Request, exc: Exception) -> Response:
    """A write's stored first answer (api/idempotency.py), as it was."""
    assert isinstance(exc, Replay)
    stored = exc.stored
    return Response(stored.body, status_code=stored.status, headers=replay_headers(stored))


Handler = Callable[[Request, Exception], Awaitable[Response]]
_HANDLERS: dict[type[Exception], Handler] = {
    Replay: _replay,
    StrongroomError: _strongroom,
    RequestValidationError: _validation,
    HTTPException: _http,
    DBAPIError: _database,
    PoolTimeout: _pool_timeout,
    Exception: _unexpected,
}


def install(app: FastAPI) -> None:
    for exc_type, handler in _HANDLERS.items():
        app.add_exception_handler(exc_type, handler)


async def respond(request: Request, exc: Exception) -> Response | None:
    """The answer FastAPI's handlers would give, for a path that runs without them
    (api/fastlane.py): the handler of the nearest class in ``exc``'s MRO, as Starlette
    chooses. None for an unexpected exception: as on every other path, it is for
    ``RequestContextMiddleware`` (one opaque 500, the error reporter)."""
    for cls in type(exc).__mro__:
        handler = _HANDLERS.get(cls)
        if handler is _unexpected:
            return None
        if handler is not None:
            return await handler(request, exc)
    return None
