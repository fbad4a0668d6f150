"""Pure ASGI middleware (cheaper than BaseHTTPMiddleware on the hot path)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import time
from collections.abc import Callable
from typing import Any

import structlog
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from strongroom.access.guard import records_settled, request_boundary
from strongroom.api import idempotency
from strongroom.api.access_log import access_line
from strongroom.api.errors import known_error
from strongroom.errors import AuditUnavailable, IdempotencyKeyInvalid, StrongroomError
from strongroom.observability.metrics import HTTP_LATENCY, HTTP_REQUESTS

log = structlog.get_logger("strongroom.api")
_RID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def _error(status: int, code: str, message: str, rid: str) -> tuple[dict[str, Any], bytes]:
    body = {"success": False, "error": {"code": code, "message": message}, "requestId": rid}
    return {"status": status}, json.dumps(body).encode()


# On every response: responses carry key material, plaintext or metadata, so no
# cache may keep them and no browser may sniff or frame them. The interactive docs
# load Swagger UI's scripts and styles from this server (api/openapi.py), and run the
# page's one inline script that starts it: their policy allows 'self' and that.
_SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"cache-control", b"no-store"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
]
_API_CSP = (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'")
_DOCS_CSP = (
    b"content-security-policy",
    b"default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    b"img-src 'self' data:; frame-ancestors 'none'",
)
_HSTS = (b"strict-transport-security", b"max-age=63072000; includeSubDomains")
_DOCS_PATHS = ("/docs", "/redoc", "/openapi.json")


def _security_headers(scope: Scope) -> list[tuple[bytes, bytes]]:
    headers = list(_SECURITY_HEADERS)
    headers.append(_DOCS_CSP if scope["path"].startswith(_DOCS_PATHS) else _API_CSP)
    if scope.get("scheme") == "https":  # HSTS over plain HTTP is ignored by browsers
        headers.append(_HSTS)
    return headers


def _rate_limit_headers(scope: Scope, own: set[bytes]) -> list[tuple[bytes, bytes]]:
    """The principal's request budget (set by api/deps.authenticate), unless the
    response already carries one (a 429 names the budget that ran out)."""
    quota = scope.get("state", {}).get("rate_limit")
    if quota is None or b"ratelimit" in own:
        return []
    return [(k.lower().encode(), v.encode()) for k, v in quota.headers().items()]


class RequestContextMiddleware:
    """The HTTP transport's frame around every request: a request id (or a sane
    ``X-Request-Id``), 413 ``REQ001`` past ``max_body`` bytes, the request boundary
    (tenant scope and audit release: access/guard.py), the security and RateLimit
    headers, ``Idempotency-Key`` on writes (api/idempotency.py), one opaque 500 for
    anything unexpected, the request metrics and one access-log line
    (api/access_log.py)."""

    def __init__(
        self,
        app: ASGIApp,
        max_body: int,
        report: Callable[[BaseException], object] | None = None,
        log_client_addr: bool = True,
    ) -> None:
        self.app = app
        self.max_body = max_body
        self._report = report
        self._log_addr = log_client_addr

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid, length = _request_id_and_length(scope["headers"])
        scope.setdefault("state", {})["request_id"] = rid
        # Every log line of this request carries its id (contextvars are per task).
        structlog.contextvars.bind_contextvars(request_id=rid)
        if length is not None and (length < 0 or length > self.max_body):
            await _reject(send, rid, 413 if length > 0 else 400)
            return
        started = time.perf_counter()
        out = _Outbox(send, rid)
        status = 500  # if the app raises before starting a response

        async def send_decorated(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message = _decorated(scope, message, rid)
            await out.send(message)

        try:
            with request_boundary() as out.held:
                scope["state"]["audit_held"] = out.held  # api/idempotency.py waits too
                # Idempotency-Key on writes (api/idempotency.py): inside the body limit.
                await idempotency.run(
                    self.app, scope, _limited(receive, self.max_body), send_decorated
                )
            if await out.release() is not None:
                status = out.status
        except _TooLarge:
            status = 413
            await _reject(send, rid, 413)
        except IdempotencyKeyInvalid as exc:  # the caller's header: no error log
            status = 400
            await _reject(send, rid, 400, exc)
        except ClientDisconnect:
            status = 499  # the client left mid-request: nobody to answer, nothing wrong
        except Exception as exc:
            # Answered here so that nothing outside re-raises it into the server's log
            # with its message and traceback (which could carry values). Type only.
            known = known_error(exc)  # e.g. the database went away mid-request: 503
            log.error("unhandled_exception", error_type=type(exc).__name__)
            if self._report is not None and known is None:
                self._report(exc)  # Sentry, when configured: scrubbed in before_send
            status = 500 if known is None else known.status
            if not out.started:
                await _reject(send, rid, 500, known)
        finally:
            out.abandon()
            seconds = time.perf_counter() - started
            _observe(scope, status, seconds)
            access_line(scope, status, seconds, client_addr=self._log_addr)


def _decorated(scope: Scope, message: Message, rid: str) -> Message:
    """A response start with the security and RateLimit headers and the request id."""
    own = {name.lower() for name, _ in message.get("headers", [])}
    extra = [h for h in _security_headers(scope) if h[0] not in own]
    extra += _rate_limit_headers(scope, own)
    headers = [*message.get("headers", []), *extra, (b"x-request-id", rid.encode())]
    return {**message, "headers": headers}


def _request_id_and_length(headers: list[tuple[bytes, bytes]]) -> tuple[str, int | None]:
    """The caller's ``X-Request-Id`` if sane (else a fresh one) and the declared body
    length (-1 when unparseable, None when absent)."""
    rid, length = "", None
    for name, value in headers:
        if name == b"x-request-id" and _RID.fullmatch(value.decode("latin-1")):
            rid = value.decode("latin-1")
        elif name == b"content-length":
            length = int(value) if value.isdigit() else -1
    return rid or os.urandom(16).hex(), length  # 128 random bits, as a uuid4 carries


def _limited(receive: Receive, max_body: int) -> Receive:
    """``receive`` that stops a body growing past ``max_body`` (a chunked body has no
    Content-Length to refuse up front)."""
    received = 0

    async def limited_receive() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > max_body:
                raise _TooLarge()
        return message

    return limited_receive


async def _reject(send: Send, rid: str, status: int, err: StrongroomError | None = None) -> None:
    code, msg = _REJECTIONS.get(status, ("REQ005", "malformed request"))
    if err is not None:
        status, code, msg = err.status, err.code, err.text
    start, body = _error(status, code, msg, rid)
    headers = [(b"content-type", b"application/json"), (b"x-request-id", rid.encode())]
    headers += _SECURITY_HEADERS + _extra_headers(err)
    await send({"type": "http.response.start", "status": start["status"], "headers": headers})
    await send({"type": "http.response.body", "body": body})


class _Outbox:
    """The response, held back while audit records of the request are still being
    written (audit/release.py): sent once they are durable; a 503 in its place if one
    could not be written. A streaming body waits at its first chunk instead."""

    def __init__(self, send: Send, rid: str) -> None:
        self._send, self._rid = send, rid
        self.held: list[asyncio.Future[None]] = []  # audit records it waits for
        self._buffer: list[Message] = []
        self._failed = False
        self.status = 503
        self.started = False  # a response start went out to the client

    async def _out(self, message: Message) -> None:
        self.started = self.started or message["type"] == "http.response.start"
        await self._send(message)

    async def send(self, message: Message) -> None:
        if self._failed:
            return
        if not self.held and not self._buffer:
            await self._out(message)
            return
        self._buffer.append(message)
        if message["type"] == "http.response.body" and message.get("more_body"):
            await self.release()

    async def release(self) -> BaseException | None:
        """Send what was held once its records are durable; the failure, if one was not."""
        failure = await records_settled(self.held) if self.held else None
        buffered, self._buffer = self._buffer, []
        if failure is None:
            for message in buffered:
                await self._out(message)
            return None
        self._failed = True
        err = AuditUnavailable()
        start, body = _error(err.status, err.code, err.text, self._rid)
        headers = [(b"content-type", b"application/json"), (b"x-request-id", self._rid.encode())]
        headers += _extra_headers(err)
        await self._out(
            {"type": "http.response.start", **start, "headers": headers + _SECURITY_HEADERS}
        )
        await self._out({"type": "http.response.body", "body": body})
        return failure

    def abandon(self) -> None:
        """After an exception: nobody awaits what is still held; retrieve its outcome
        so that a failed write is not reported again as an unretrieved exception."""
        for fut in self.held:
            fut.add_done_callback(_retrieve)
        self.held = []


def _extra_headers(err: StrongroomError | None) -> list[tuple[bytes, bytes]]:
    """An error's own headers (Retry-After on a 503)."""
    own: dict[str, str] = getattr(err, "headers", None) or {}
    return [(k.lower().encode(), v.encode()) for k, v in own.items()]


def _retrieve(fut: asyncio.Future[None]) -> None:
    if not fut.cancelled():
        fut.exception()


_REJECTIONS = {413: ("REQ001", "request too large"), 500: ("SYS001", "internal error")}


# Labelled children by (method, route, status): ``labels()`` costs more than the
# observation itself on every request. Bounded: the method is the client's choice.
_SERIES: dict[tuple[str, str, int], tuple[Any, Any]] = {}
_SERIES_MAX = 1024


def _observe(scope: Scope, status: int, seconds: float) -> None:
    # The route template, never the raw path: it would carry userIds.
    route = getattr(scope.get("route"), "path", "unmatched")
    key = (scope["method"], route, status)
    series = _SERIES.get(key)
    if series is None:
        series = (HTTP_REQUESTS.labels(key[0], route, str(status)), HTTP_LATENCY.labels(route))
        if len(_SERIES) < _SERIES_MAX:
            _SERIES[key] = series
    series[0].inc()
    series[1].observe(seconds)


class _TooLarge(HTTPException):
    """Raised mid-stream; FastAPI re-raises HTTPExceptions from body parsing unchanged."""

    def __init__(self) -> None:
        super().__init__(status_code=413)
