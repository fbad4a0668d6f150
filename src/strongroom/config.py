"""Settings, read from the environment (prefix ``STRONGROOM_``) by ``main`` only."""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from strongroom.crypto.suites import DEFAULT_KEY_TYPE, KeyType

DEFAULT_TENANT = "default"
KmsName = Literal["local", "aws", "openbao", "pkcs11"]


AuthMethod = Literal["api_key", "bearer", "mtls"]


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


_LOOPBACK = ("127.0.0.1", "::1", "localhost")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="STRONGROOM_", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///./strongroom.db"
    redis_url: str | None = None  # optional: cross-replica hints (and later caches)
    kms: KmsName = "local"
    # Backends whose wrapped keys are still read (during `strongroom kms rewrap`).
    kms_previous: list[KmsName] = Field(default_factory=list)
    master_key_file: Path = Path("./strongroom.key")
    # Remote KMS calls: per-attempt timeout, attempts, and the circuit breaker.
    kms_timeout_seconds: float = Field(default=2.0, gt=0)
    kms_retry_attempts: int = Field(default=3, ge=1)
    kms_breaker_threshold: int = Field(default=5, ge=1)
    kms_breaker_reset_seconds: float = Field(default=5.0, gt=0)
    kms_aws_key_id: str | None = None  # key id, ARN or alias/...
    kms_aws_region: str = "us-east-1"
    kms_aws_endpoint_url: str | None = None
    kms_openbao_addr: str = "http://127.0.0.1:8200"
    kms_openbao_token: SecretStr | None = None
    kms_openbao_role_id: str | None = None  # AppRole login instead of a token
    kms_openbao_secret_id: SecretStr | None = None
    kms_openbao_mount: str = "transit"
    kms_openbao_key: str = "strongroom-root"
    kms_openbao_namespace: str | None = None
    kms_openbao_ca_cert: Path | None = None
    kms_pkcs11_library: str = "/usr/lib/softhsm/libsofthsm2.so"
    kms_pkcs11_token_label: str = "strongroom"  # noqa: S105 - a label, not a secret
    kms_pkcs11_pin: SecretStr | None = None
    kms_pkcs11_key_label: str = "strongroom-root"
    kms_pkcs11_create_key: bool = False  # generate the root key in the token if absent

    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = Field(default=1, ge=1)

    ciphertext_prefix: str = Field(default="sr", pattern=r"^[a-z][a-z0-9]{0,15}$")
    default_key_type: KeyType = DEFAULT_KEY_TYPE
    default_rotation_days: int = Field(default=90, ge=1)
    deletion_window_days: float = Field(default=7.0, ge=0)
    min_deletion_window_days: float = Field(default=1.0, ge=0)

    max_items_per_batch: int = Field(default=1000, ge=1)
    max_item_bytes: int = Field(default=65536, ge=1)
    max_body_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)
    max_user_id_length: int = Field(default=200, ge=1)
    max_context_length: int = Field(default=1024, ge=0)

    private_key_cache_size: int = Field(default=10000, ge=0)
    private_key_cache_ttl_seconds: float = Field(default=900.0, ge=0)
    data_key_cache_size: int = Field(default=10000, ge=0)
    # Metadata may be cached long: the change feed drops changed users on every
    # replica within key_feed_interval + key_feed_max_staleness seconds.
    metadata_cache_ttl_seconds: float = Field(default=300.0, ge=0)
    key_feed_interval_seconds: float = Field(default=0.5, gt=0)
    key_feed_window_seconds: float = Field(default=10.0, gt=0)
    key_feed_max_staleness_seconds: float = Field(default=1.5, gt=0)
    access_key_cache_ttl_seconds: float = Field(default=5.0, ge=0)
    # Access keys: how long an old secret keeps working after a rotation (default), and
    # how often each replica writes the "last used" time/address it buffers in memory.
    access_key_rotation_grace_seconds: float = Field(default=86400.0, ge=0)
    access_key_usage_flush_seconds: float = Field(default=30.0, gt=0)

    scheduler_interval_seconds: float = Field(default=60.0, gt=0)
    scheduler_enabled: bool = True
    # 0: a flush starts at once; records arriving while one is in flight share the next
    # commit (measured: 0 beats 2 ms at every concurrency, on SQLite and PostgreSQL).
    audit_flush_interval_ms: float = Field(default=0.0, ge=0)
    # Audit chain (audit/chain.py): heartbeat when idle, checkpoint every N records or T s.
    audit_heartbeat_seconds: float = Field(default=60.0, gt=0)
    audit_checkpoint_records: int = Field(default=1000, ge=1)
    audit_checkpoint_seconds: float = Field(default=60.0, gt=0)
    # Identifier kinds stored in audit records only as keyed HMACs (audit/redact.py):
    # "userId", "clientAddr". Free text is always stored that way.
    audit_sensitive_identifiers: list[Literal["userId", "clientAddr"]] = Field(default_factory=list)
    # How long records stay in the table before `strongroom audit archive` moves them
    # to verifiable files (default 7 years).
    audit_retention_days: int = Field(default=2557, ge=1)
    log_level: str = "INFO"
    # Security events (audit/events.py): thresholds and an optional webhook.
    security_auth_failures_per_minute: int = Field(default=5, ge=1)
    security_bulk_window_seconds: float = Field(default=300.0, gt=0)
    security_bulk_min_users: int = Field(default=50, ge=1)
    security_bulk_factor: float = Field(default=10.0, gt=0)
    security_webhook_url: str | None = None
    security_webhook_secret: str | None = None
    # Optional telemetry (observability/telemetry.py), off unless set.
    otel_endpoint: str | None = None  # OTLP/HTTP collector, e.g. http://127.0.0.1:4318
    otel_service_name: str = "strongroom"
    otel_sample_ratio: float = Field(default=1.0, ge=0, le=1)
    sentry_dsn: str | None = None
    sentry_environment: str | None = None
    # Rate limits (access/limits.py): per principal, per address, distinct decrypt users.
    rate_limit_enabled: bool = True
    rate_limit_requests_per_minute: int = Field(default=1000, ge=1)
    rate_limit_items_per_minute: int = Field(default=100_000, ge=1)
    rate_limit_unauthenticated_per_minute: int = Field(default=60, ge=1)
    rate_limit_decrypt_users_per_window: int = Field(default=1000, ge=1)
    rate_limit_decrypt_users_window_seconds: float = Field(default=3600.0, gt=0)
    rate_limit_role_requests_per_minute: dict[str, int] = Field(default_factory=dict)
    rate_limit_principal_requests_per_minute: dict[str, int] = Field(default_factory=dict)
    # Browser origins allowed to call the API (CORS). Empty: closed, no CORS headers.
    cors_allow_origins: list[str] = Field(default_factory=list)
    # TLS served by `strongroom serve` itself (api/tls_server.py) and client certificates
    # (access/mtls.py). tls_client_auth=required also makes every request need a mapped
    # certificate (from the handshake or a trusted proxy), as auth_required=["mtls"] does;
    # auth_required_for={"keys:decrypt": ["mtls"]} requires one per permission.
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None
    tls_client_ca_file: Path | None = None
    tls_client_auth: Literal["none", "optional", "required"] = "none"
    # {"dns:svc.example.com" | "uri:spiffe://..." | "email:a@b" | "sha256:<hex>":
    #  {"tenant": "...", "roles": [...], "subject": optional principal id}}
    mtls_principals: dict[str, dict[str, str | list[str]]] = Field(default_factory=dict)
    # A TLS-terminating proxy's forwarded certificate (URL-encoded PEM, nginx's
    # $ssl_client_escaped_cert) counts only from these socket addresses (IPs or CIDRs).
    mtls_trusted_proxies: list[str] = Field(default_factory=list)
    mtls_forwarded_header: str = "X-SSL-Client-Cert"

    @field_validator("cors_allow_origins")
    @classmethod
    def _exact_origins(cls, origins: list[str]) -> list[str]:
        # "*" would let any web page drive the API with a key its user pasted.
        if any(o == "*" or not o.startswith(("https://", "http://")) for o in origins):
            raise ValueError("list exact origins such as https://app.example.com; '*' is refused")
        return origins

    # Authentication policy (access/policy.py): methods accepted, required on every
    # request, and required per permission pattern (e.g. {"keys:decrypt": ["mtls"]}).
    auth_methods: list[AuthMethod] = Field(default=["api_key", "bearer", "mtls"])
    auth_required: list[AuthMethod] = Field(default_factory=list)
    auth_required_for: dict[str, list[AuthMethod]] = Field(default_factory=dict)
    # OAuth 2.0 / OIDC bearer tokens (access/oidc.py, access/jwks.py).
    oidc_issuers: list[OidcIssuer] = Field(default_factory=list)
    oidc_jwks_min_refresh_seconds: float = Field(default=60.0, ge=0)  # unknown-kid refetch
    oidc_jwks_ttl_seconds: float = Field(default=3600.0, gt=0)
    oidc_jwks_timeout_seconds: float = Field(default=5.0, gt=0)
    oidc_revocation_refresh_seconds: float = Field(default=5.0, ge=0)

    @model_validator(mode="after")
    def _required_are_accepted(self) -> Settings:
        needed = {*self.auth_required, *(m for ms in self.auth_required_for.values() for m in ms)}
        if not needed <= set(self.auth_methods):
            raise ValueError("a required authentication method must also be accepted")
        return self
