"""Settings sections of the stores, the keys and audit domains, and the operations
concerns (telemetry, logging)."""

from __future__ import annotations

import base64
import binascii
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from strongroom.config.base import Section
from strongroom.crypto.suites import KeyType


class DatabaseSettings(Section):
    url: str = "sqlite+aiosqlite:///./strongroom.db"


class RedisSettings(Section):
    url: str | None = None  # optional: cross-replica hints, shared caches, rate limits


class KeyCacheSettings(Section):
    private_key_size: int = Field(default=10000, ge=0)
    private_key_ttl_seconds: float = Field(default=900.0, ge=0)
    data_key_size: int = Field(default=10000, ge=0)
    # Metadata may be cached long: the change feed drops changed users on every
    # replica within feed.interval_seconds + feed.max_staleness_seconds.
    metadata_ttl_seconds: float = Field(default=300.0, ge=0)


class KeyFeedSettings(Section):
    interval_seconds: float = Field(default=0.5, gt=0)
    window_seconds: float = Field(default=10.0, gt=0)
    max_staleness_seconds: float = Field(default=1.5, gt=0)


class SchedulerSettings(Section):
    """The in-process scheduler: due rotations and destructions (keys/scheduler.py)."""

    enabled: bool = True
    interval_seconds: float = Field(default=60.0, gt=0)


class KeysSettings(Section):
    ciphertext_prefix: str = Field(default="sr", pattern=r"^[a-z][a-z0-9]{0,15}$")
    default_key_type: KeyType = KeyType.X25519_HPKE
    default_rotation_days: int = Field(default=90, ge=1)
    deletion_window_days: float = Field(default=7.0, ge=0)
    min_deletion_window_days: float = Field(default=1.0, ge=0)
    max_items_per_batch: int = Field(default=1000, ge=1)
    # UTF-8 bytes of one plaintext item; the ciphertext bound follows per suite
    # (crypto/sizes.py), so whatever encrypts also decrypts.
    max_item_bytes: int = Field(default=65536, ge=1)
    max_context_length: int = Field(default=1024, ge=0)
    cache: KeyCacheSettings = Field(default_factory=KeyCacheSettings)
    feed: KeyFeedSettings = Field(default_factory=KeyFeedSettings)
    scheduler: SchedulerSettings = Field(default_factory=SchedulerSettings)


def _whsec(secret: str | None) -> str | None:
    """A Standard Webhooks secret must decode to 16..64 bytes; other text is the legacy
    form (its bytes are the key)."""
    if secret is not None and secret.startswith("whsec_"):
        try:
            key = base64.b64decode(secret.removeprefix("whsec_"), validate=True)
        except binascii.Error:
            key = b""
        if not 16 <= len(key) <= 64:  # the message never echoes the secret
            raise ValueError("whsec_ must be followed by the base64 of 16 to 64 bytes")
    return secret


class AuditAnchorSettings(Section):
    """Where each new checkpoint is also written, outside the database, so that a cut
    of the trail together with its newest checkpoints is provable (audit/anchors.py,
    docs/audit-format.md "Anchors"). Hashes and counts only leave."""

    # An append-only JSON Lines file (one line per checkpoint); `audit verify` reads it.
    file: Path | None = None
    # A receiver of each line as a signed POST (Standard Webhooks, like security events).
    webhook_url: str | None = None
    webhook_secret: str | None = None

    @field_validator("webhook_secret")
    @classmethod
    def _secret(cls, secret: str | None) -> str | None:
        return _whsec(secret)


class AuditSettings(Section):
    # 0: a flush starts at once; records arriving while one is in flight share the next
    # commit (measured: 0 beats 2 ms at every concurrency, on SQLite and PostgreSQL).
    flush_interval_ms: float = Field(default=0.0, ge=0)
    # Audit chain (audit/chain.py): heartbeat when idle, checkpoint every N records or T s.
    heartbeat_seconds: float = Field(default=60.0, gt=0)
    checkpoint_records: int = Field(default=1000, ge=1)
    checkpoint_seconds: float = Field(default=60.0, gt=0)
    # Identifier kinds stored in audit records only as keyed HMACs (audit/redact.py):
    # "userId", "clientAddr". Free text is always stored that way.
    sensitive_identifiers: list[Literal["userId", "clientAddr"]] = Field(default_factory=list)
    # How long records stay in the table before `strongroom audit archive` moves them
    # to verifiable files (default 7 years).
    retention_days: int = Field(default=2557, ge=1)
    anchors: AuditAnchorSettings = Field(default_factory=AuditAnchorSettings)


class SecurityEventsSettings(Section):
    """Security events (audit/events.py): thresholds and an optional webhook."""

    auth_failures_per_minute: int = Field(default=5, ge=1)
    auth_failures_global_per_minute: int = Field(default=100, ge=1)  # whatever the address
    bulk_window_seconds: float = Field(default=300.0, gt=0)
    bulk_min_users: int = Field(default=50, ge=1)
    bulk_factor: float = Field(default=10.0, gt=0)
    webhook_url: str | None = None
    # Standard Webhooks secret "whsec_<base64>" (docs/security-events.md); any other
    # text is the legacy form, still accepted while receivers migrate.
    webhook_secret: str | None = None

    @field_validator("webhook_secret")
    @classmethod
    def _whsec(cls, secret: str | None) -> str | None:
        return _whsec(secret)


class TelemetrySettings(Section):
    """Optional telemetry (observability/telemetry.py), off unless set."""

    otel_endpoint: str | None = None  # OTLP/HTTP collector, e.g. http://127.0.0.1:4318
    otel_service_name: str = "strongroom"
    otel_sample_ratio: float = Field(default=1.0, ge=0, le=1)
    sentry_dsn: str | None = None
    sentry_environment: str | None = None


class LoggingSettings(Section):
    level: str = "INFO"
