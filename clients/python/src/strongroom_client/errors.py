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


class IdempotencyKeyInvalidError(ApiError):
    """IDEM001: the Idempotency-Key header is not 1-255 printable ASCII characters."""

    code, status = "IDEM001", 400


class IdempotencyKeyReusedError(ApiError):
    """IDEM002: the Idempotency-Key was first used for a different request."""

    code, status = "IDEM002", 422


class IdempotencyInFlightError(ApiError):
    """IDEM003: the first request with this Idempotency-Key still runs; retried with
    the same key after ``Retry-After`` (for the first one's answer)."""

    code, status, retryable = "IDEM003", 409, True


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


class SecretNotFoundError(NotFoundError):
    """SEC001: no such secret or version (or one the caller may not read)."""

    code, status = "SEC001", 404


class SecretVersionGoneError(NotFoundError):
    """SEC002: the version is deleted (undelete brings it back) or destroyed."""

    code, status = "SEC002", 404


class CasMismatchError(ApiError):
    """SEC003: check-and-set lost: the version named is not the current one."""

    code, status = "SEC003", 409


class SecretExpiredError(ApiError):
    """SEC004: the version's ``expiresAt`` has passed."""

    code, status = "SEC004", 410


class SecretTooLargeError(PayloadTooLargeError):
    code, status = "SEC005", 413


class SecretConflictError(ApiError):
    """SEC006: the secret changed concurrently; retrying is safe."""

    code, status = "SEC006", 409


class NothingPendingError(ApiError):
    """SEC007: no pending version (or no such version) to promote."""

    code, status = "SEC007", 409


class ShareGoneError(ApiError):
    """SHR001: no such share, or used up, expired, revoked or locked (one answer)."""

    code, status = "SHR001", 404


class PassphraseRequiredError(ApiError):
    """SHR002: the share wants a passphrase; none or the wrong one was given."""

    code, status = "SHR002", 403


class CertificateUnreadableError(InvalidInputError):
    code, status = "PKI001", 400


class CertificatePasswordError(InvalidInputError):
    code, status = "PKI002", 400


class CertificateBundleTooLargeError(PayloadTooLargeError):
    code, status = "PKI003", 413


class CertificateNotFoundError(NotFoundError):
    code, status = "PKI004", 404


class CertificateKeyMismatchError(InvalidInputError):
    code, status = "PKI005", 400


class CertificateRenewalConflictError(ApiError):
    code, status = "PKI006", 409


class CertificateNoPrivateKeyError(ApiError):
    code, status = "PKI007", 409


class CertificateAuthorityDisabledError(NotFoundError):
    code, status = "PKI008", 404


class CertificateAuthorityNotFoundError(NotFoundError):
    code, status = "PKI009", 404


class CertificateAuthorityExistsError(ApiError):
    code, status = "PKI010", 409


class IssuanceRefusedError(InvalidInputError):
    """PKI011: outside the role or beyond the issuer; ``details["reason"]`` says which."""

    code, status = "PKI011", 400


class ApiKeyNotFoundError(NotFoundError):
    """APK001: no such project or stored API key."""

    code, status = "APK001", 404


class ApiKeyExistsError(ApiError):
    code, status = "APK002", 409


class ApiKeyConflictError(ApiError):
    """APK003: ``version`` did not name the key's current version."""

    code, status = "APK003", 409


class InvalidHostError(InvalidInputError):
    code, status = "APK004", 400


class InvalidInjectionError(InvalidInputError):
    code, status = "APK005", 400


class InvalidNetworkError(InvalidInputError):
    code, status = "APK006", 400


class ApiKeyRevokedError(ApiError):
    code, status = "APK007", 409


class ApiKeyBlockedError(ApiError):
    code, status = "APK008", 423


class ApiKeyExpiredError(ApiError):
    code, status = "APK009", 410


class RotationHookFailedError(ApiError):
    """APK010: the hook failed (``details["step"]``); the current value still serves."""

    code, status = "APK010", 502


class NoRotationHookError(InvalidInputError):
    code, status = "APK011", 400


class ProjectNotEmptyError(ApiError):
    code, status = "APK012", 409


class InvalidKeyValueError(InvalidInputError):
    code, status = "APK013", 400


class UsageRangeError(InvalidQueryError):
    """USG001: ``from``/``to`` unreadable, out of order, or too many buckets."""

    code, status = "USG001", 400


class UsageGranularityError(InvalidQueryError):
    code, status = "USG002", 400


class UsageUnavailableError(NotFoundError):
    code, status = "USG003", 404


class BrokerError(ApiError):
    """A brokered call refused or failed (``BRKnnn``, docs/broker.md)."""


class BrokerHostNotAllowedError(BrokerError, PermissionDeniedError):
    code, status = "BRK001", 403


class BrokerAddressRefusedError(BrokerError, PermissionDeniedError):
    code, status = "BRK002", 403


class BrokerDnsError(BrokerError):
    code, status = "BRK003", 502


class BrokerTimeoutError(BrokerError):
    code, status = "BRK004", 504


class BrokerUnreachableError(BrokerError):
    code, status = "BRK005", 502


class BrokerResponseTooLargeError(BrokerError):
    code, status = "BRK006", 502


class BrokerRequestTooLargeError(BrokerError, PayloadTooLargeError):
    code, status = "BRK007", 413


class BrokerRedirectRefusedError(BrokerError):
    code, status = "BRK008", 502


class BrokerBadRequestError(BrokerError, InvalidInputError):
    code, status = "BRK009", 400


class BrokerMethodNotAllowedError(BrokerError, PermissionDeniedError):
    code, status = "BRK010", 403


class ToolNotRegisteredError(PermissionDeniedError):
    """APR001: no tool of this name and client id is registered."""

    code, status = "APR001", 403


class ToolSchemaChangedError(PermissionDeniedError):
    """APR002: the tool's schema changed: suspended until re-approved."""

    code, status = "APR002", 403


class ToolNotApprovedError(PermissionDeniedError):
    """APR003: the tool is pending approval or suspended."""

    code, status = "APR003", 403


class OutsideToolReachError(PermissionDeniedError):
    """APR004: a host or method the tool may not reach."""

    code, status = "APR004", 403


class AccessRequestNotFoundError(NotFoundError):
    """APR005: no such access request."""

    code, status = "APR005", 404


class AccessRequestDecidedError(ApiError):
    """APR006: the request was already approved, denied or expired."""

    code, status = "APR006", 409


class SelfApprovalError(PermissionDeniedError):
    """APR007: the requester cannot decide its own request."""

    code, status = "APR007", 403


class DigestMismatchError(ApiError):
    """APR008: the decision's digest is not the request's."""

    code, status = "APR008", 409


class AccessRequestExpiredError(ApiError):
    """APR009: the request expired (a denial)."""

    code, status = "APR009", 410


class AccessRequestNotApprovedError(ApiError):
    """APR010: not approved, or its session was already opened."""

    code, status = "APR010", 409


class SessionNotFoundError(NotFoundError):
    """APR011: no such session."""

    code, status = "APR011", 404


class ProxyTokenRefusedError(PermissionDeniedError):
    """APR012: unknown proxy token, or another principal's."""

    code, status = "APR012", 403


class ProxyTokenExpiredError(PermissionDeniedError):
    """APR013: proxy token or session expired."""

    code, status = "APR013", 403


class ProxyTokenRevokedError(PermissionDeniedError):
    """APR014: proxy token or session revoked."""

    code, status = "APR014", 403


class ProxyTokenExhaustedError(PermissionDeniedError):
    """APR015: proxy token used up."""

    code, status = "APR015", 403


class OutsideGrantError(PermissionDeniedError):
    """APR016: host or method outside the proxy token's grant."""

    code, status = "APR016", 403


class ToolNotFoundError(NotFoundError):
    """APR017: no such tool."""

    code, status = "APR017", 404


class ToolExistsError(ApiError):
    """APR018: tool already registered."""

    code, status = "APR018", 409


class AlreadyDecidedError(ApiError):
    """APR019: this approver already decided the request."""

    code, status = "APR019", 409


class PolicyVersionChangedError(ApiError):
    """APR020: the approvals policy changed since it was read (stale expectedVersion)."""

    code, status = "APR020", 409


ERRORS: dict[str, type[ApiError]] = {
    cls.code: cls
    for cls in (
        IdempotencyKeyInvalidError,
        IdempotencyKeyReusedError,
        IdempotencyInFlightError,
        ApiKeyNotFoundError,
        ApiKeyExistsError,
        ApiKeyConflictError,
        InvalidHostError,
        InvalidInjectionError,
        InvalidNetworkError,
        ApiKeyRevokedError,
        ApiKeyBlockedError,
        ApiKeyExpiredError,
        RotationHookFailedError,
        NoRotationHookError,
        ProjectNotEmptyError,
        InvalidKeyValueError,
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
        SecretNotFoundError,
        SecretVersionGoneError,
        CasMismatchError,
        SecretExpiredError,
        SecretTooLargeError,
        SecretConflictError,
        NothingPendingError,
        ShareGoneError,
        PassphraseRequiredError,
        CertificateUnreadableError,
        CertificatePasswordError,
        CertificateBundleTooLargeError,
        CertificateNotFoundError,
        CertificateKeyMismatchError,
        CertificateRenewalConflictError,
        CertificateNoPrivateKeyError,
        CertificateAuthorityDisabledError,
        CertificateAuthorityNotFoundError,
        CertificateAuthorityExistsError,
        IssuanceRefusedError,
        UsageRangeError,
        UsageGranularityError,
        UsageUnavailableError,
        BrokerHostNotAllowedError,
        BrokerAddressRefusedError,
        BrokerDnsError,
        BrokerTimeoutError,
        BrokerUnreachableError,
        BrokerResponseTooLargeError,
        BrokerRequestTooLargeError,
        BrokerRedirectRefusedError,
        BrokerBadRequestError,
        BrokerMethodNotAllowedError,
        ToolNotRegisteredError,
        ToolSchemaChangedError,
        ToolNotApprovedError,
        OutsideToolReachError,
        AccessRequestNotFoundError,
        AccessRequestDecidedError,
        SelfApprovalError,
        DigestMismatchError,
        AccessRequestExpiredError,
        AccessRequestNotApprovedError,
        SessionNotFoundError,
        ProxyTokenRefusedError,
        ProxyTokenExpiredError,
        ProxyTokenRevokedError,
        ProxyTokenExhaustedError,
        OutsideGrantError,
        ToolNotFoundError,
        ToolExistsError,
        AlreadyDecidedError,
        PolicyVersionChangedError,
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
