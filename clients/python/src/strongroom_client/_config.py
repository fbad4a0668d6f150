"""Client configuration: arguments first, then the environment.

Environment: ``STRONGROOM_ADDR`` (default ``http://127.0.0.1:8080``),
``STRONGROOM_API_KEY``, ``STRONGROOM_TOKEN`` (OIDC bearer), ``STRONGROOM_CLIENT_CERT``
and ``STRONGROOM_CLIENT_KEY`` (mTLS, PEM files), ``STRONGROOM_CA_CERT`` (CA bundle
to verify the server), ``STRONGROOM_TENANT`` (``X-Tenant-Id`` for principals that span
tenants), ``STRONGROOM_SERVICE_KEY`` (the pinned key-statement key: base64url raw
Ed25519 or a PEM file path).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from strongroom_client._secret import mask
from strongroom_client.errors import ConfigurationError

DEFAULT_ADDR = "http://127.0.0.1:8080"
# The service's default ``MAX_ITEMS_PER_BATCH``; a smaller limit is learnt from its
# 413 answer (``details.limit``).
DEFAULT_BATCH_SIZE = 1000


@dataclass(frozen=True)
class RetryPolicy:
    """Retries of retryable answers (429 with ``Retry-After``, 503 ``SYS001``/``SYS002``,
    conflicts of idempotent calls) and of connection failures, with full jitter."""

    max_attempts: int = 4
    base_delay: float = 0.2
    max_delay: float = 5.0
    # A ``Retry-After`` longer than this is not waited for: the error is raised.
    max_retry_after: float = 30.0


@dataclass(frozen=True, repr=False)
class Config:
    addr: str = DEFAULT_ADDR
    api_key: str | None = None
    token: str | None = None
    client_cert: str | None = None
    client_key: str | None = None
    ca_cert: str | None = None
    tenant: str | None = None
    service_key: str | None = None
    timeout: float = 10.0
    batch_size: int = DEFAULT_BATCH_SIZE
    statement_ttl: float = 300.0
    # The service's MAX_ITEM_BYTES (default 64 KiB): a larger item sealed offline would
    # be refused when decrypted, so offline encryption refuses it first.
    max_item_bytes: int = 65536
    retry: RetryPolicy = field(default_factory=RetryPolicy)

    def __repr__(self) -> str:
        return (
            f"Config(addr={self.addr!r}, api_key={mask(self.api_key)}, "
            f"token={mask(self.token)}, client_cert={self.client_cert!r}, "
            f"tenant={self.tenant!r}, service_key={self.service_key!r})"
        )

    @classmethod
    def resolve(cls, env: Mapping[str, str] | None = None, **given: object) -> Config:
        """Arguments that are not None win over ``STRONGROOM_*`` variables."""
        env = os.environ if env is None else env
        names = {
            "addr": "STRONGROOM_ADDR",
            "api_key": "STRONGROOM_API_KEY",
            "token": "STRONGROOM_TOKEN",
            "client_cert": "STRONGROOM_CLIENT_CERT",
            "client_key": "STRONGROOM_CLIENT_KEY",
            "ca_cert": "STRONGROOM_CA_CERT",
            "tenant": "STRONGROOM_TENANT",
            "service_key": "STRONGROOM_SERVICE_KEY",
        }
        values: dict[str, object] = {k: v for k, v in given.items() if v is not None}
        for name, var in names.items():
            if name not in values and env.get(var):
                values[name] = env[var]
        config = cls(**values)  # type: ignore[arg-type]
        if not config.addr.startswith(("http://", "https://")):
            raise ConfigurationError("addr must start with http:// or https://")
        if config.batch_size < 1:
            raise ConfigurationError("batch_size must be at least 1")
        return config

    def headers(self) -> dict[str, str]:
        out = {"Accept": "application/json", "User-Agent": "strongroom-client/0.1.0"}
        if self.api_key:
            out["X-API-Key"] = self.api_key
        if self.token:
            out["Authorization"] = f"Bearer {self.token}"
        if self.tenant:
            out["X-Tenant-Id"] = self.tenant
        return out
