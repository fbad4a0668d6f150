"""Settings of the access domain: authentication (access keys, OIDC), rate limits."""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, model_validator

from strongroom.config.base import Section

DEFAULT_TENANT = "default"
AuthMethod = Literal["api_key", "bearer", "mtls"]
_LOOPBACK = ("127.0.0.1", "::1", "localhost")


class OidcIssuer(BaseModel):
    """One trusted token issuer (access/oidc.py). Set as a JSON list in
    ``STRONGROOM_OIDC_ISSUERS``."""

    # The docstring under each field is its description (config/reference.py).
    model_config = ConfigDict(extra="forbid", frozen=True)

    # Bounded so that the principal id ``oidc:{issuer}#{sub}`` fits audit columns.
    issuer: str = Field(min_length=1, max_length=100)
    """The ``iss`` of its tokens (at most 100 characters)."""
    jwks_uri: str
    """Where its signing keys are (https; plain http only on loopback)."""
    audiences: list[str] = Field(default_factory=list)
    """Accepted ``aud`` values (required unless ``cognito``)."""
    # Pinned per issuer; only asymmetric algorithms are ever accepted.
    algorithms: list[Literal["RS256", "ES256"]] = Field(default=["RS256"], min_length=1)
    """Accepted signature algorithms: ``RS256``, ``ES256``."""
    cognito: bool = False
    """Cognito access tokens (no ``aud``): require ``token_use=access`` and a
    ``client_id`` in ``client_ids``."""
    client_ids: list[str] = Field(default_factory=list)
    """Accepted ``client_id`` values of a ``cognito`` issuer."""
    groups_claim: str = "groups"
    """Claim listing the token's groups (``cognito:groups`` for Cognito)."""
    group_roles: dict[str, list[str]] = Field(default_factory=dict)
    """Roles each group gives."""
    scope_roles: dict[str, list[str]] = Field(default_factory=dict)
    """Roles each scope gives."""
    scope_permissions: dict[str, list[str]] = Field(default_factory=dict)
    """Permissions each scope gives (e.g. ``{"enc": ["keys:encrypt"]}``), optionally on
    a resource pattern (``"secrets:read on apps/billing/*"``, docs/secrets.md)."""
    own_key_claim: str = Field(default="sub", min_length=1)
    """Claim whose value is the userId of the token's own key (the ``user`` role); a
    value that is no valid userId gives the token no own key."""
    tenant_claim: str | None = None
    """Claim naming the token's tenant; unset: every token acts in ``tenant``."""
    tenant: str = DEFAULT_TENANT
    """The tenant of this issuer's tokens when there is no ``tenant_claim``."""
    leeway_seconds: float = Field(default=30.0, ge=0, le=300)
    """Clock skew allowed on ``exp``, ``nbf`` and ``iat`` (0 to 300)."""
    max_lifetime_seconds: float = Field(default=86400.0, gt=0)
    """Longest accepted token lifetime (``exp`` - ``iat``)."""

    @model_validator(mode="after")
    def _audience_rule(self) -> OidcIssuer:
        if self.cognito and not self.client_ids:
            raise ValueError("a cognito issuer needs client_ids")
        if not self.cognito and not self.audiences:
            raise ValueError("an issuer needs audiences (or cognito with client_ids)")
        host = urlsplit(self.jwks_uri).hostname or ""
        if not self.jwks_uri.startswith("https://") and host not in _LOOPBACK:
            raise ValueError("jwks_uri must be https (plain http only on loopback)")
        return self


class OidcSettings(Section):
    """OAuth 2.0 / OIDC bearer tokens (access/oidc.py, access/jwks.py)."""

    issuers: list[OidcIssuer] = Field(default_factory=list)
    """Trusted token issuers, a JSON list of issuer objects (below). Empty: no bearer
    tokens are accepted."""
    jwks_min_refresh_seconds: float = Field(default=60.0, ge=0)
    """Shortest interval between refetches of a JWKS for an unknown ``kid``."""
    jwks_ttl_seconds: float = Field(default=3600.0, gt=0)
    """How long a fetched JWKS is used."""
    jwks_timeout_seconds: float = Field(default=5.0, gt=0)
    """Timeout of a JWKS fetch."""
    revocation_refresh_seconds: float = Field(default=5.0, ge=0)
    """How often each replica reloads revoked token ids (``POST /api/v1/tokens/revoked``)."""


class AuthSettings(Section):
    """Authentication policy (access/policy.py): methods accepted, required on every
    request, and required per permission pattern (e.g. {"keys:decrypt": ["mtls"]})."""

    methods: list[AuthMethod] = Field(default=["api_key", "bearer", "mtls"])
    """Accepted credentials: ``api_key``, ``bearer``, ``mtls``."""
    required: list[AuthMethod] = Field(default_factory=list)
    """Credentials every request must present."""
    required_for: dict[str, list[AuthMethod]] = Field(default_factory=dict)
    """Credentials required per permission pattern, e.g. ``{"keys:decrypt": ["mtls"]}``."""
    oidc: OidcSettings = Field(default_factory=OidcSettings)

    @model_validator(mode="after")
    def _required_are_accepted(self) -> AuthSettings:
        needed = {*self.required, *(m for ms in self.required_for.values() for m in ms)}
        if not needed <= set(self.methods):
            raise ValueError(
                "a method in STRONGROOM_AUTH_REQUIRED or STRONGROOM_AUTH_REQUIRED_FOR must "
                "also be in STRONGROOM_AUTH_METHODS"
            )
        return self


class AccessSettings(Section):
    """Stored access keys (access/service.py)."""

    key_cache_ttl_seconds: float = Field(default=5.0, ge=0)
    """How long a replica caches an access-key row: revocation, expiry and the end of a
    grace period reach other replicas within it."""
    key_rotation_grace_seconds: float = Field(default=86400.0, ge=0)
    """How long an old secret keeps working after a rotation without ``graceSeconds``."""
    key_usage_flush_seconds: float = Field(default=30.0, gt=0)
    """How often each replica writes the "last used" time and address it buffers."""


class LimitsSettings(Section):
    """Rate limits (access/limits.py): per principal, per address, distinct decrypt users."""

    enabled: bool = True
    """Enforce the rate limits (429 ``RATE001`` with ``Retry-After``)."""
    requests_per_minute: int = Field(default=1000, ge=1)
    """Requests per principal per minute."""
    items_per_minute: int = Field(default=100_000, ge=1)
    """Items (encrypt, decrypt, rotate, rewrap) per principal per minute."""
    unauthenticated_per_minute: int = Field(default=60, ge=1)
    """Failed requests per address per minute; then even good credentials wait."""
    failed_auth_per_minute: int = Field(default=600, ge=1)
    """Failed authentications per minute from all addresses together (per replica
    without Redis); set it above the fleet's normal rate of failures."""
    decrypt_users_per_window: int = Field(default=1000, ge=1)
    """Distinct users a principal may decrypt for per window."""
    decrypt_users_window_seconds: float = Field(default=3600.0, gt=0)
    """The window of ``decrypt_users_per_window``."""
    role_requests_per_minute: dict[str, int] = Field(default_factory=dict)
    """Per-role overrides of ``requests_per_minute``, e.g. ``{"encrypt-only": 5000}`` (the
    highest of a principal's roles applies)."""
    principal_requests_per_minute: dict[str, int] = Field(default_factory=dict)
    """Per-principal overrides of ``requests_per_minute``, by principal id (an access
    key's id, ``oidc:{iss}#{sub}``); they win over the role overrides."""
