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

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Bounded so that the principal id ``oidc:{issuer}#{sub}`` fits audit columns.
    issuer: str = Field(min_length=1, max_length=100)
    jwks_uri: str
    audiences: list[str] = Field(default_factory=list)
    # Pinned per issuer; only asymmetric algorithms are ever accepted.
    algorithms: list[Literal["RS256", "ES256"]] = Field(default=["RS256"], min_length=1)
    # Cognito access tokens carry no ``aud``: require token_use=access and a listed client_id.
    cognito: bool = False
    client_ids: list[str] = Field(default_factory=list)
    groups_claim: str = "groups"  # "cognito:groups" for Cognito
    group_roles: dict[str, list[str]] = Field(default_factory=dict)
    scope_roles: dict[str, list[str]] = Field(default_factory=dict)
    scope_permissions: dict[str, list[str]] = Field(default_factory=dict)
    # The claim whose value is the userId of the token's own key (``own`` scope, the
    # ``user`` role); a value that is no valid userId gives the token no own key.
    own_key_claim: str = Field(default="sub", min_length=1)
    tenant_claim: str | None = None  # else every token of this issuer acts in ``tenant``
    tenant: str = DEFAULT_TENANT
    leeway_seconds: float = Field(default=30.0, ge=0, le=300)
    max_lifetime_seconds: float = Field(default=86400.0, gt=0)  # exp - iat

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
    jwks_min_refresh_seconds: float = Field(default=60.0, ge=0)  # unknown-kid refetch
    jwks_ttl_seconds: float = Field(default=3600.0, gt=0)
    jwks_timeout_seconds: float = Field(default=5.0, gt=0)
    revocation_refresh_seconds: float = Field(default=5.0, ge=0)


class AuthSettings(Section):
    """Authentication policy (access/policy.py): methods accepted, required on every
    request, and required per permission pattern (e.g. {"keys:decrypt": ["mtls"]})."""

    methods: list[AuthMethod] = Field(default=["api_key", "bearer", "mtls"])
    required: list[AuthMethod] = Field(default_factory=list)
    required_for: dict[str, list[AuthMethod]] = Field(default_factory=dict)
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
    # How long an old secret keeps working after a rotation (default), and how often
    # each replica writes the "last used" time/address it buffers in memory.
    key_rotation_grace_seconds: float = Field(default=86400.0, ge=0)
    key_usage_flush_seconds: float = Field(default=30.0, gt=0)


class LimitsSettings(Section):
    """Rate limits (access/limits.py): per principal, per address, distinct decrypt users."""

    enabled: bool = True
    requests_per_minute: int = Field(default=1000, ge=1)
    items_per_minute: int = Field(default=100_000, ge=1)
    unauthenticated_per_minute: int = Field(default=60, ge=1)
    # All addresses together (per replica without Redis): failed authentications.
    failed_auth_per_minute: int = Field(default=600, ge=1)
    decrypt_users_per_window: int = Field(default=1000, ge=1)
    decrypt_users_window_seconds: float = Field(default=3600.0, gt=0)
    role_requests_per_minute: dict[str, int] = Field(default_factory=dict)
    principal_requests_per_minute: dict[str, int] = Field(default_factory=dict)
