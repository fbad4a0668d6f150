"""Settings, read from the environment (prefix ``STRONGROOM_``) by ``main`` only."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_TENANT = "default"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="STRONGROOM_", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///./strongroom.db"
    redis_url: str | None = None  # optional: cross-replica hints (and later caches)
    kms: Literal["local"] = "local"
    master_key_file: Path = Path("./strongroom.key")

    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = Field(default=1, ge=1)

    ciphertext_prefix: str = Field(default="sr", pattern=r"^[a-z][a-z0-9]{0,15}$")
    default_key_type: str = "x25519-hpke"
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

    scheduler_interval_seconds: float = Field(default=60.0, gt=0)
    scheduler_enabled: bool = True
    audit_flush_interval_ms: float = Field(default=2.0, ge=0)
    log_level: str = "INFO"
    # Security events (audit/events.py): thresholds and an optional webhook.
    security_auth_failures_per_minute: int = Field(default=5, ge=1)
    security_bulk_window_seconds: float = Field(default=300.0, gt=0)
    security_bulk_min_users: int = Field(default=50, ge=1)
    security_bulk_factor: float = Field(default=10.0, gt=0)
    security_webhook_url: str | None = None
    security_webhook_secret: str | None = None
    # Browser origins allowed to call the API (CORS). Empty: closed, no CORS headers.
    cors_allow_origins: list[str] = Field(default_factory=list)

    @field_validator("cors_allow_origins")
    @classmethod
    def _exact_origins(cls, origins: list[str]) -> list[str]:
        # "*" would let any web page drive the API with a key its user pasted.
        if any(o == "*" or not o.startswith(("https://", "http://")) for o in origins):
            raise ValueError("list exact origins such as https://app.example.com; '*' is refused")
        return origins
