"""The vault's settings section (secrets/)."""

from __future__ import annotations

from pydantic import Field, field_validator

from strongroom.config.base import Section


class SecretsSettings(Section):
    """The secrets vault (secrets/, docs/secrets.md)."""

    max_value_bytes: int = Field(default=65536, ge=256, le=1048576)
    """The largest value one secret version may hold: its ``data`` object as compact
    JSON, in bytes (larger writes answer 413)."""
    default_max_versions: int = Field(default=10, ge=1, le=1000)
    """How many versions a secret keeps when its metadata sets no ``maxVersions``: a
    write past it deletes the oldest version and its sealed value."""
    reminder_days: list[int] = Field(default=[30, 7, 1])
    """Days before a version's ``expiresAt`` at which a ``secret.expiring`` security
    event is raised (audit, metrics, webhook), once per threshold across replicas."""
    reminders_enabled: bool = True
    """Run the expiry reminder pass in ``serve`` (every replica may: each reminder is
    claimed once in the database)."""
    reminder_interval_seconds: float = Field(default=300.0, gt=0)
    """How often the expiry reminder pass runs."""
    read_cache_ttl_seconds: float = Field(default=1.0, ge=0, le=60)
    """How long a worker reuses what it read for a secret's version (its row and the
    sealed value, never the plaintext). A change made through this worker is read back
    at once; one made through another worker or replica may be read as before for up
    to this long (docs/caching.md). 0: every read goes to the database."""
    read_cache_size: int = Field(default=10000, ge=0, le=1000000)
    """How many (secret, version) reads a worker keeps at most (least recently used
    leave first)."""

    @field_validator("reminder_days")
    @classmethod
    def _days(cls, v: list[int]) -> list[int]:
        if len(v) > 10 or any(d < 0 or d > 3650 for d in v):
            raise ValueError("at most 10 thresholds of 0 to 3650 days")
        return sorted(set(v), reverse=True)
