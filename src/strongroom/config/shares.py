"""Settings of shares (secrets/shares.py) and of FIPS mode (``compliance``)."""

from __future__ import annotations

from pydantic import Field

from strongroom.config.base import Section


class ComplianceSettings(Section):
    """Compliance modes that restrict the algorithms the service chooses."""

    fips: bool = False
    """``STRONGROOM_FIPS=1``: passphrases are hashed with PBKDF2-SHA256 instead of
    Argon2id (which is not FIPS-approved)."""


class SharesSettings(Section):
    """Shares: one value behind a link that works a few times, then never again."""

    max_ttl_seconds: int = Field(default=30 * 86400, ge=60, le=365 * 86400)
    """The longest a share may live (its ``expiresInSeconds`` is required and bounded
    by this); default 30 days, at most 365."""
    max_views: int = Field(default=100, ge=1, le=10_000)
    """The most views a share may allow (default per share: 1); at most 10,000."""
    max_value_bytes: int = Field(default=65536, ge=1)
    """Bytes of a shared value (more: 413 ``REQ001``)."""
    passphrase_attempts: int = Field(default=5, ge=1, le=100)
    """Wrong passphrases a share tolerates; the next one ends it for good (its value
    is wiped). A wrong passphrase never uses up a view."""
    argon2_time_cost: int = Field(default=2, ge=1)
    """Argon2id iterations (OWASP: 2 with 19 MiB). Stored with each hash, so raising
    it applies to new shares and old ones still verify."""
    argon2_memory_kib: int = Field(default=19456, ge=8192)
    """Argon2id memory in KiB (OWASP minimum: 19456 = 19 MiB)."""
    argon2_parallelism: int = Field(default=1, ge=1, le=16)
    """Argon2id lanes (OWASP: 1)."""
    pbkdf2_iterations: int = Field(default=600_000, ge=600_000)
    """PBKDF2-SHA256 iterations in FIPS mode (at least 600,000, OWASP)."""
    purge_interval_seconds: float = Field(default=60.0, gt=0)
    """How often the job ``shares.purge`` (once per period across replicas) ends expired
    shares, wiping their values, and deletes ended ones past ``keep_ended_days``."""
    keep_ended_days: float = Field(default=7.0, ge=0)
    """How long an ended share (its value already wiped) stays listed with its access
    log before it is deleted; the audit trail keeps its records regardless."""
