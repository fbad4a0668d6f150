"""What the sync and async transports share (no I/O here): the request description,
answer parsing, the retry decision and the log line.

Logging (logger ``strongroom_client``): one DEBUG line per attempt and one WARNING per
retry, with method, path template, status, error code and request id; never a body,
a header, a query value or a path parameter's value.
"""

from __future__ import annotations

import email.utils
import json
import logging
import random
import ssl
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import httpx

from strongroom_client._config import Config, RetryPolicy
from strongroom_client.errors import (
    ApiError,
    InvalidInputError,
    StrongroomError,
    TransportError,
    from_response,
)

log = logging.getLogger("strongroom_client")


@dataclass(frozen=True)
class Request:
    """One API call. ``path`` is a template (``/api/v1/keys/{userId}``) filled from
    ``path_params`` (percent-encoded), so logs name the template, not the user.
    ``idempotent``: repeating it cannot do the work twice, so a lost answer or a
    conflict may be retried (rotate and create calls are not). ``idempotency_key``:
    the ``Idempotency-Key`` the transport gives every POST and PATCH (``keyed``), the
    same on each of its retries: the service answers a repeat from the first answer
    (docs/idempotency.md), so a lost answer or a 503 may be retried too."""

    method: str
    path: str
    path_params: Mapping[str, str] = field(default_factory=dict)
    json: Any = None
    params: Mapping[str, Any] | None = None
    idempotent: bool = False
    raw: bool = False  # answer text, not JSON (metrics)
    binary: bool = False  # answer bytes, not JSON (a DER CRL)
    ok_statuses: tuple[int, ...] = ()  # error statuses whose body is the answer (readyz)
    slashes: bool = False  # path parameters keep their "/" (a vault path's segments)
    idempotency_key: str | None = None

    def keyed(self) -> Request:
        """This request with a fresh ``Idempotency-Key`` if it is a write under /api/v1
        that has none (one per call, kept across the call's retries)."""
        if self.idempotency_key is not None or self.method not in _KEYED:
            return self
        if not self.path.startswith("/api/v1/"):
            return self
        return replace(self, idempotency_key=str(uuid.uuid4()))

    def after(self, error: StrongroomError) -> Request:
        """The request for the next attempt after ``error``: the same key after a lost
        answer, a 5xx or ``IDEM003`` (the first may have done the work: its answer is
        wanted); a fresh one after another 4xx (a conflict, a 429), which the service
        stored or refused before running: the retry is another attempt at the write."""
        status = getattr(error, "status", None)
        if self.idempotency_key is None or not isinstance(error, ApiError) or status is None:
            return self
        if status >= 500 or error.code == "IDEM003":
            return self
        return replace(self, idempotency_key=str(uuid.uuid4()))

    def headers(self) -> dict[str, str] | None:
        return None if self.idempotency_key is None else {"Idempotency-Key": self.idempotency_key}

    def body(self) -> bytes | None:
        """The JSON body; an item that is not valid Unicode (a lone surrogate) is
        refused here, naming its kind only, before anything is sent."""
        if self.json is None:
            return None
        try:
            return json.dumps(self.json, ensure_ascii=False, allow_nan=False).encode("utf-8")
        except (UnicodeEncodeError, ValueError, TypeError):
            raise InvalidInputError("request body is not valid JSON text") from None

    def url(self) -> str:
        path = self.path
        for name, value in self.path_params.items():
            path = path.replace("{" + name + "}", _quote(value, "/" if self.slashes else ""))
        return path

    def query(self) -> dict[str, str] | None:
        if not self.params:
            return None
        return {k: _query_value(v) for k, v in self.params.items() if v is not None}


_KEYED = frozenset({"POST", "PATCH"})


def _quote(value: str, safe: str = "") -> str:
    from urllib.parse import quote

    return quote(value, safe=safe)


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value)


def http_options(config: Config) -> dict[str, Any]:
    """Keyword arguments for ``httpx.Client`` / ``httpx.AsyncClient``."""
    options: dict[str, Any] = {
        "base_url": config.addr,
        "timeout": config.timeout,
        "headers": {**config.headers(), "Content-Type": "application/json"},
    }
    if config.client_cert or config.ca_cert:
        options["verify"] = ssl_context(config)
    return options


def ssl_context(config: Config) -> ssl.SSLContext:
    """TLS with the system's CAs (or ``ca_cert``) and, for mTLS, the client certificate
    (httpx takes a context; its ``cert=`` and path ``verify=`` are deprecated)."""
    context = ssl.create_default_context(cafile=config.ca_cert)
    if config.client_cert:
        context.load_cert_chain(config.client_cert, config.client_key)
    return context


def retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:  # the HTTP-date form
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None  # unreadable: as if absent
    return max(0.0, when.timestamp() - time.time())


def result(request: Request, response: httpx.Response) -> Any:
    """The parsed answer, or raise its typed error."""
    if response.status_code < 400 or response.status_code in request.ok_statuses:
        if response.status_code == 204 or not response.content:
            return None
        if request.binary:
            return response.content
        return response.text if request.raw else response.json()
    try:
        body = response.json()
    except ValueError:
        body = None
    raise from_response(
        response.status_code, body, response.headers.get("x-request-id"), retry_after(response)
    )


# Connection failures where the request certainly did not reach the service.
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
_CONFLICTS = frozenset({"KEY002", "ACC002", "ROLE002"})


def transport_error(exc: httpx.HTTPError) -> TransportError:
    # The exception's own text may carry the URL (with a userId): only its type.
    return TransportError(f"could not reach the service ({type(exc).__name__})")


def delay(
    policy: RetryPolicy, attempt: int, error: StrongroomError, request: Request
) -> float | None:
    """Seconds to wait before attempt ``attempt + 1``, or None to raise ``error``."""
    if attempt + 1 >= policy.max_attempts:
        return None
    # A write with an Idempotency-Key is never done twice: a repeat gets its answer.
    repeatable = request.idempotent or request.idempotency_key is not None
    if isinstance(error, TransportError):
        sent = not isinstance(error.__cause__, NOT_SENT)
        if sent and not repeatable:
            return None  # it may have been done: never twice
    elif isinstance(error, ApiError):
        if not error.retryable:
            return None
        if error.code == "RATE001" and error.retry_after is None:
            return None  # a spent budget that waiting does not refill
        if error.code in _CONFLICTS and not request.idempotent:
            return None
        if error.code == "SYS001" and not repeatable:
            return None  # it may have failed after its work was done
    else:
        return None
    # Jitter spreads retries; it protects nothing, so no CSPRNG is needed.
    backoff = random.uniform(0, min(policy.max_delay, policy.base_delay * 2**attempt))  # noqa: S311
    if error.retry_after is not None:
        if error.retry_after > policy.max_retry_after:
            return None
        return error.retry_after + backoff / 4  # honour it, spread the herd a little
    return backoff


def log_attempt(request: Request, status: int | str, attempt: int) -> None:
    log.debug(
        "strongroom %s %s -> %s (attempt %d)", request.method, request.path, status, attempt + 1
    )


def log_retry(request: Request, error: StrongroomError, wait: float) -> None:
    log.warning(
        "strongroom %s %s failed with %s (request %s); retrying in %.2fs",
        request.method,
        request.path,
        error.code,
        error.request_id or "-",
        wait,
    )
