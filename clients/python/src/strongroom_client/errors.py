"""Typed errors mirroring the service's stable error codes (README, "Errors").

Every error carries ``code``, ``status``, the service's ``message`` (which never holds
a value), ``request_id`` and ``details`` as the service sent them. The client never
puts a request's data into an error: ``str(error)`` is safe to log.
"""

from __future__ import annotations

from typing import Any


class StrongroomError(Exception):
    """Base of every error this client raises."""

    code: str = "CLIENT"
    status: int | None = None
    retryable: bool = False

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        request_id: str | None = None,
        details: dict[str, Any] | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.request_id = request_id
        self.details = details or {}
        self.retry_after = retry_after

    def __str__(self) -> str:
        where = f" (request {self.request_id})" if self.request_id else ""
        status = f" {self.status}" if self.status is not None else ""
        return f"{self.code}{status}: {self.message}{where}"


class TransportError(StrongroomError):
    """The service could not be reached or did not answer (after the retries)."""

    code = "CLIENT_TRANSPORT"
    retryable = True


class KeyStatementError(StrongroomError):
    """A key statement was refused: bad signature, another service key, another
    user or tenant, expired, or malformed. Offline encryption does not proceed."""

    code = "CLIENT_STATEMENT"


class ConfigurationError(StrongroomError):
    """The client is missing an address or credentials, or they are unusable."""

    code = "CLIENT_CONFIG"


class ApiError(StrongroomError):
    """An error answer of the service with a code this client does not know."""


class KeyNotFoundError(ApiError):
    code, status = "KEY001", 404


class RotationInProgressError(ApiError):
    code, status, retryable = "KEY002", 409, True


class KeyExistsError(ApiError):
    code, status = "KEY003", 409


class KeyDestroyedError(ApiError):
    code, status = "KEY004", 410


class KeyDisabledError(ApiError):
    code, status = "KEY005", 409


class InvalidPolicyError(ApiError):
    code, status = "KEY006", 400


class InvalidInputError(ApiError):
    """ENC001: invalid input, or a ciphertext that does not open (one opaque error;
    ``details["index"]`` names the first bad item)."""

    code, status = "ENC001", 400


class AuthenticationError(ApiError):
    code, status = "AUTH001", 401


class PermissionDeniedError(ApiError):
    code, status = "AUTH002", 403


class AccessKeyStateError(ApiError):
    code, status = "ACC001", 409


class AccessKeyConflictError(ApiError):
    code, status, retryable = "ACC002", 409, True


class RoleExistsError(ApiError):
    code, status = "ROLE001", 409


class RoleConflictError(ApiError):
    code, status, retryable = "ROLE002", 409, True


class PayloadTooLargeError(ApiError):
    code, status = "REQ001", 413


class NotFoundError(ApiError):
    code, status = "REQ002", 404


class MethodNotAllowedError(ApiError):
    code, status = "REQ003", 405


class InvalidQueryError(ApiError):
    code, status = "REQ004", 400


class MalformedRequestError(ApiError):
    code, status = "REQ005", 400


class RateLimitedError(ApiError):
    code, status, retryable = "RATE001", 429, True


class OverloadedError(ApiError):
    """SYS002: the worker shed the request before doing anything; safe to retry."""

    code, status, retryable = "SYS002", 503, True


class ServiceError(ApiError):
    """SYS001: 503 (KMS, database or audit trail unavailable: retryable) or 500."""

    code = "SYS001"


class IntegrityCheckError(ApiError):
    """SYS003: stored data failed an integrity check (not retried: it will again)."""

    code, status = "SYS003", 500


class AuditArchiveError(ApiError):
    code, status = "AUD001", 409


ERRORS: dict[str, type[ApiError]] = {
    cls.code: cls
    for cls in (
        KeyNotFoundError,
        RotationInProgressError,
        KeyExistsError,
        KeyDestroyedError,
        KeyDisabledError,
        InvalidPolicyError,
        InvalidInputError,
        AuthenticationError,
        PermissionDeniedError,
        AccessKeyStateError,
        AccessKeyConflictError,
        RoleExistsError,
        RoleConflictError,
        PayloadTooLargeError,
        NotFoundError,
        MethodNotAllowedError,
        InvalidQueryError,
        MalformedRequestError,
        RateLimitedError,
        OverloadedError,
        ServiceError,
        IntegrityCheckError,
        AuditArchiveError,
    )
}


def from_response(
    status: int, body: Any, request_id: str | None, retry_after: float | None
) -> ApiError:
    """The typed error for an error answer (unknown codes: ``ApiError``)."""
    error = body.get("error") if isinstance(body, dict) else None
    code = str(error.get("code")) if isinstance(error, dict) else f"HTTP{status}"
    message = str(error.get("message", "")) if isinstance(error, dict) else "unexpected answer"
    details = error.get("details") if isinstance(error, dict) else None
    rid = body.get("requestId") if isinstance(body, dict) else None
    cls = ERRORS.get(code, ApiError)
    exc = cls(
        message,
        code=code,
        status=status,
        request_id=str(rid) if rid else request_id,
        details=details if isinstance(details, dict) else None,
        retry_after=retry_after,
    )
    if cls is ServiceError and status == 503:
        exc.retryable = True
    return exc
