"""Error classes carrying a stable code and HTTP status.

Messages are fixed strings chosen by the code that raises; they never contain
request values, key material, SQL or stack traces. ``detail`` may carry only
non-sensitive structure (an item index, a field path, a limit).
"""

from __future__ import annotations

from typing import Any, ClassVar


class StrongroomError(Exception):
    code: ClassVar[str] = "SYS001"
    status: ClassVar[int] = 500
    message: ClassVar[str] = "internal error"

    def __init__(self, message: str | None = None, **detail: Any) -> None:
        self.text = message or self.message
        self.detail = detail
        super().__init__(self.text)


class KeyNotFound(StrongroomError):
    code, status, message = "KEY001", 404, "key not found"


class KeyConflict(StrongroomError):
    code, status, message = "KEY002", 409, "key rotation in progress; retry"


class KeyExists(StrongroomError):
    code, status, message = "KEY003", 409, "key already exists"


class KeyDestroyed(StrongroomError):
    code, status, message = "KEY004", 410, "key destroyed: data encrypted under it is unrecoverable"


class KeyDisabled(StrongroomError):
    code, status, message = "KEY005", 409, "key is disabled (scheduled for deletion)"


class InvalidPolicy(StrongroomError):
    code, status, message = "KEY006", 400, "invalid key policy"


class InvalidInput(StrongroomError):
    code, status, message = "ENC001", 400, "invalid input"


class InvalidCiphertext(InvalidInput):
    """One opaque error for every unopenable ciphertext (no oracle)."""

    message = "invalid ciphertext"


class AuthenticationFailed(StrongroomError):
    code, status, message = "AUTH001", 401, "invalid or missing credentials"


class Forbidden(StrongroomError):
    code, status, message = "AUTH002", 403, "forbidden"


class PayloadTooLarge(StrongroomError):
    code, status, message = "REQ001", 413, "request too large"


class NotFound(StrongroomError):
    code, status, message = "REQ002", 404, "not found"


class MethodNotAllowed(StrongroomError):
    """405: the path exists but not with this method; ``Allow`` lists the ones it has."""

    code, status, message = "REQ003", 405, "method not allowed"

    def __init__(self, allow: str | None = None) -> None:
        super().__init__()
        self.headers = {"Allow": allow} if allow else {}


class InvalidQuery(StrongroomError):
    """A query parameter is malformed, out of range or unknown (``details`` names it)."""

    code, status, message = "REQ004", 400, "invalid query parameter"


class MalformedRequest(StrongroomError):
    """The HTTP request itself is unusable (e.g. an unparseable ``Content-Length``)."""

    code, status, message = "REQ005", 400, "malformed request"


class AccessKeyInactive(StrongroomError):
    code, status, message = "ACC001", 409, "access key is revoked or expired"


class AccessKeyConflict(StrongroomError):
    code, status, message = "ACC002", 409, "access key changed concurrently; retry"


class RoleExists(StrongroomError):
    code, status, message = "ROLE001", 409, "role already exists"


class RoleConflict(StrongroomError):
    code, status, message = "ROLE002", 409, "role changed concurrently; retry"


class InternalError(StrongroomError):
    code, status, message = "SYS001", 500, "internal error"


class ServiceUnavailable(StrongroomError):
    """503: a dependency (KMS, database, audit trail) is down; ``Retry-After`` says
    when trying again may help."""

    code, status, message = "SYS001", 503, "service unavailable"
    retry_after: ClassVar[int] = 1  # seconds

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class AuditUnavailable(ServiceUnavailable):
    message = "audit trail unavailable; operation refused"


class DatabaseUnavailable(ServiceUnavailable):
    """The database cannot be reached or cannot serve now (refused, reset, starting up
    or shutting down, pool exhausted, statement timeout): store/db.py raises it."""

    message = "database unavailable"
    retry_after = 2  # a restart or fail-over takes seconds


class Overloaded(ServiceUnavailable):
    """503 ``SYS002``: this worker is past its bound of in-flight and queued requests
    (api/admission.py) and sheds the request before doing any work on it."""

    code, message = "SYS002", "service overloaded; retry later"


class SealedDataInvalid(StrongroomError):
    """500 ``SYS003``: a stored sealed record (a vault secret, a share, a CA key) did not
    open under its tenant's data key: the database was tampered with or a record was
    moved. Server-side integrity, never the caller's input; the reason goes to logs."""

    code, status, message = "SYS003", 500, "stored data failed an integrity check"


class RateLimited(StrongroomError):
    """429 with ``Retry-After`` (seconds) when waiting can help, and the budget's
    ``RateLimit`` headers."""

    code, status, message = "RATE001", 429, "rate limit exceeded"

    def __init__(
        self,
        message: str | None = None,
        retry_after: int | None = None,
        headers: dict[str, str] | None = None,
        **detail: Any,
    ):
        if retry_after is not None:
            detail["retryAfter"] = retry_after
        super().__init__(message, **detail)
        self.retry_after = retry_after
        self.headers = dict(headers or {})
        if retry_after is not None:
            self.headers["Retry-After"] = str(retry_after)


class ArchiveRefused(StrongroomError):
    """`strongroom audit archive` deleted nothing: the trail or the file did not verify."""

    code, status, message = "AUD001", 409, "audit archive refused"


class IdempotencyKeyInvalid(StrongroomError):
    """400 ``IDEM001``: an ``Idempotency-Key`` header that is not 1-255 printable ASCII
    characters (or is repeated)."""

    code, status, message = "IDEM001", 400, "invalid Idempotency-Key header"


class IdempotencyKeyReused(StrongroomError):
    """422 ``IDEM002``: the key was first used for another request (method, path or
    body): a client bug, never retried as is."""

    code, status, message = "IDEM002", 422, "Idempotency-Key was used for a different request"


class IdempotencyInFlight(StrongroomError):
    """409 ``IDEM003``: the first request with this key is still running; retry later
    for its answer."""

    code, status, message = "IDEM003", 409, "a request with this Idempotency-Key is in progress"

    def __init__(self, message: str | None = None, **detail: Any) -> None:
        super().__init__(message, **detail)
        self.headers = {"Retry-After": "1"}
