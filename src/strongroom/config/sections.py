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
    """The database (store/db.py): SQLite for one process, PostgreSQL for replicas."""

    url: str = "sqlite+aiosqlite:///./strongroom.db"
    """SQLAlchemy URL: ``sqlite+aiosqlite:///PATH`` or ``postgresql://USER:PASSWORD@HOST/DB``
    (the serving role; see docs/operations.md). Never echoed in errors."""


class RedisSettings(Section):
    """Optional Redis: cross-replica change hints, shared key caches, shared rate limits."""

    url: str | None = None
    """``redis://HOST:PORT/DB``. Unset: every replica keeps its own caches and budgets,
    and learns of key changes from the database change feed only."""


class KeyCacheSettings(Section):
    """In-process caches of key material and metadata (keys/cache.py)."""

    private_key_size: int = Field(default=10000, ge=0)
    """Unwrapped private keys kept in memory (entries). 0 disables the cache."""
    private_key_ttl_seconds: float = Field(default=900.0, ge=0)
    """How long an unwrapped private key or data key stays cached. 0 disables both."""
    data_key_size: int = Field(default=10000, ge=0)
    """Decapsulated data keys (one per ciphertext header) kept in memory. 0 disables."""
    # Metadata may be cached long: the change feed drops changed users on every
    # replica within feed.interval_seconds + feed.max_staleness_seconds.
    metadata_ttl_seconds: float = Field(default=300.0, ge=0)
    """How long key metadata stays cached (changes reach every replica sooner, through
    the change feed). 0 disables."""


class KeyFeedSettings(Section):
    """The change feed that drops changed keys from every replica's caches (keys/feed.py)."""

    interval_seconds: float = Field(default=0.5, gt=0)
    """How often each replica polls the database for changed key rows."""
    window_seconds: float = Field(default=10.0, gt=0)
    """How far back each poll looks (above the longest key transaction plus clock skew);
    also the longest an entry lives in the shared Redis cache."""
    max_staleness_seconds: float = Field(default=1.5, gt=0)
    """A replica that has not polled successfully for this long stops trusting its
    cached metadata."""


class SchedulerSettings(Section):
    """The in-process scheduler: scheduled jobs, each run once per period across all
    replicas (services/jobs.py), among them due rotations and destructions."""

    enabled: bool = True
    """Run scheduled jobs in the server (else run `strongroom keys rotate-due` and
    `destroy-due` from cron). Safe on every replica: each job runs once per period
    cluster-wide."""
    interval_seconds: float = Field(default=60.0, gt=0)
    """Period of the due-rotation and due-destruction jobs."""


class KeysSettings(Section):
    """Per-user keys (keys/): ciphertext format, defaults, request limits."""

    ciphertext_prefix: str = Field(default="sr", pattern=r"^[a-z][a-z0-9]{0,15}$")
    """First field of every ciphertext (``sr:v1:...``); lower-case letters and digits."""
    default_key_type: KeyType = KeyType.X25519_HPKE
    """Key type of a key created without ``keyType``."""
    default_rotation_days: int = Field(default=90, ge=1)
    """Rotation period of a key created without ``rotationPeriodDays``."""
    deletion_window_days: float = Field(default=7.0, ge=0)
    """Waiting period of a deletion scheduled without ``waitingPeriodDays``."""
    min_deletion_window_days: float = Field(default=1.0, ge=0)
    """Shortest waiting period a deletion request may ask for."""
    max_items_per_batch: int = Field(default=1000, ge=1)
    """Items per encrypt, decrypt, rotate or rewrap request (more: 413 ``REQ001``)."""
    # UTF-8 bytes of one plaintext item; the ciphertext bound follows per suite
    # (crypto/sizes.py), so whatever encrypts also decrypts.
    max_item_bytes: int = Field(default=65536, ge=1)
    """UTF-8 bytes of one plaintext item (more: 413 ``REQ001``); ciphertexts up to the
    size this allows are accepted."""
    max_context_length: int = Field(default=1024, ge=0)
    """Characters of the optional ``context`` bound into a ciphertext."""
    statement_ttl_seconds: int = Field(default=3600, ge=60, le=30 * 86400)
    """Validity of a signed key statement (``GET /api/v1/keys/{userId}/public``): how
    long an offline encryptor may keep using a public key it fetched, e.g. after a
    rotation (docs/key-statement.md)."""
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

    file: Path | None = None
    """An append-only JSON Lines file, one line per checkpoint; `audit verify` reads it."""
    webhook_url: str | None = None
    """A receiver of each line as a signed POST (Standard Webhooks, like security events)."""
    webhook_secret: str | None = None
    """The anchor webhook's signing secret (`whsec_` + base64 of 16 to 64 bytes)."""

    @field_validator("webhook_secret")
    @classmethod
    def _secret(cls, secret: str | None) -> str | None:
        return _whsec(secret)


class AuditSettings(Section):
    """The audit trail (audit/, docs/audit-format.md)."""

    # 0: a flush starts at once; records arriving while one is in flight share the next
    # commit (measured: 0 beats 2 ms at every concurrency, on SQLite and PostgreSQL).
    flush_interval_ms: float = Field(default=0.0, ge=0)
    """Delay before the audit writer commits a batch of records (0: at once)."""
    heartbeat_seconds: float = Field(default=60.0, gt=0)
    """An idle audit chain writes a heartbeat record this often (audit/chain.py)."""
    checkpoint_records: int = Field(default=1000, ge=1)
    """A signed checkpoint is written after this many records..."""
    checkpoint_seconds: float = Field(default=60.0, gt=0)
    """...or after this many seconds, whichever comes first."""
    sensitive_identifiers: list[Literal["userId", "clientAddr", "secretPath"]] = Field(
        default_factory=list
    )
    """Identifier kinds stored in audit records and security events only as keyed HMACs
    (``userId``, ``clientAddr``, ``secretPath``: a vault secret's path); free text is
    always stored that way."""
    retention_days: int = Field(default=2557, ge=1)
    """How long records stay in the table before `strongroom audit archive` moves them
    to verifiable files (default 7 years)."""
    anchors: AuditAnchorSettings = Field(default_factory=AuditAnchorSettings)


class SecurityEventsSettings(Section):
    """Security events (audit/events.py): thresholds and an optional webhook."""

    auth_failures_per_minute: int = Field(default=5, ge=1)
    """``auth.failures``: failed authentications within a minute from one address or
    against one access key."""
    auth_failures_global_per_minute: int = Field(default=100, ge=1)
    """``auth.failures_global``: failed authentications within a minute, whatever the
    address."""
    bulk_window_seconds: float = Field(default=300.0, gt=0)
    """``decrypt.bulk``: the window in which distinct decrypted users are counted."""
    bulk_min_users: int = Field(default=50, ge=1)
    """``decrypt.bulk``: distinct users in the window below which it never fires."""
    bulk_factor: float = Field(default=10.0, gt=0)
    """``decrypt.bulk``: fires above this multiple of the principal's own baseline."""
    webhook_url: str | None = None
    """Receives one signed ``POST`` per security event (unset: no webhook)."""
    webhook_secret: str | None = None
    """Standard Webhooks secret ``whsec_<base64 of 16-64 bytes>``; any other text is the
    legacy form, still accepted while receivers migrate (docs/security-events.md)."""

    @field_validator("webhook_secret")
    @classmethod
    def _whsec(cls, secret: str | None) -> str | None:
        return _whsec(secret)


class TelemetrySettings(Section):
    """Optional telemetry (observability/telemetry.py), off unless set."""

    otel_endpoint: str | None = None
    """OTLP/HTTP collector for traces, e.g. ``http://127.0.0.1:4318`` (needs the
    ``telemetry`` extra). Unset: no tracing."""
    otel_service_name: str = "strongroom"
    """``service.name`` of the spans."""
    otel_sample_ratio: float = Field(default=1.0, ge=0, le=1)
    """Share of traces sampled, 0 to 1."""
    sentry_dsn: str | None = None
    """Sentry DSN for unexpected errors (type and masked message only; needs the
    ``telemetry`` extra). Unset: off."""
    sentry_environment: str | None = None
    """Sentry ``environment`` tag."""


class LoggingSettings(Section):
    """Logging (logging.py): JSON lines on standard error."""

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    """Log level: ``DEBUG``, ``INFO``, ``WARNING``, ``ERROR``, ``CRITICAL`` (any case)."""

    @field_validator("level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        # ``warning`` is what people type; the logging module only knows ``WARNING``.
        return value.strip().upper() if isinstance(value, str) else value
