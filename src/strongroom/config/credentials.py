"""The stored API keys' settings section (credentials/: projects, keys, rotation)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from strongroom.config.base import Section


class RotationHook(BaseModel):
    """One rotation hook: a ``command`` (argv, no shell) that prints the new value on
    stdout, or a ``url`` answering a POST with ``{"value": "..."}``."""

    model_config = ConfigDict(extra="forbid")
    command: list[str] | None = Field(default=None, min_length=1, max_length=64)
    url: str | None = Field(default=None, pattern=r"^https?://", max_length=2048)
    timeout_seconds: float = Field(default=10.0, gt=0, le=300)

    @model_validator(mode="after")
    def _one(self) -> RotationHook:
        if (self.command is None) == (self.url is None):
            raise ValueError("a rotation hook is a command or a url, exactly one")
        return self


class ApiKeysSettings(Section):
    """Stored third-party API keys (credentials/, docs/credentials.md)."""

    rotation_hooks: dict[str, RotationHook] = Field(default_factory=dict)
    """Rotation hooks a key may name, as JSON: ``{"openai": {"command": ["/usr/local/bin/
    mint-openai"], "timeout_seconds": 20}, "stripe": {"url": "https://rotator.internal/
    stripe"}}``. A command gets the current value on stdin and prints the new one; a
    webhook gets ``{"project", "key", "provider"}`` and answers ``{"value": ...}``."""
    previous_overlap_seconds: int = Field(default=3600, ge=0, le=30 * 86400)
    """After a rotation the previous value stays known this long (scrubbed from broker
    answers, reported as the overlap), so callers in flight are never cut off."""
    state_cache_seconds: float = Field(default=0.25, ge=0, le=0.5)
    """How long a replica may use a key's state (and value) read from the database:
    revoke and block reach every replica within this (at most 0.5 s)."""
    max_value_bytes: int = Field(default=8192, ge=64, le=65536)
    """The largest stored value, in bytes (UTF-8)."""
    reminder_days: list[int] = Field(default=[14, 3, 1])
    """Days before a key's expiry, or before its rotation falls due, at which an
    ``api_key.expiring`` / ``api_key.rotation_due`` security event is raised (audit,
    metrics, webhook), once per threshold across replicas."""
    reminders_enabled: bool = True
    """Run the expiry and rotation reminder pass in ``serve``."""
    reminder_interval_seconds: float = Field(default=300.0, gt=0)
    """How often the reminder pass runs."""

    @field_validator("rotation_hooks")
    @classmethod
    def _names(cls, v: dict[str, RotationHook]) -> dict[str, RotationHook]:
        for name in v:
            if not name or len(name) > 64 or not all(c.isalnum() or c in "._-" for c in name):
                raise ValueError("hook names are 1-64 of [A-Za-z0-9._-]")
        return v

    @field_validator("reminder_days")
    @classmethod
    def _days(cls, v: list[int]) -> list[int]:
        if len(v) > 10 or any(d < 0 or d > 3650 for d in v):
            raise ValueError("at most 10 thresholds of 0 to 3650 days")
        return sorted(set(v), reverse=True)
