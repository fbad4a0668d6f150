"""Settings of stored API keys' usage analytics and anomaly rules (credentials/usage.py,
credentials/anomaly.py; docs/usage-analytics.md)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from strongroom.config.base import Section

UsageRuleName = Literal[
    "rate", "new_caller", "new_source", "off_hours", "upstream_auth", "errors", "denied_host"
]


class UsageSettings(Section):
    """Usage of stored API keys: counted in memory, written in batches, watched by rules."""

    flush_interval_seconds: float = Field(default=10.0, gt=0, le=300)
    """How often each replica writes its buffered counts (two statements per flush,
    whatever the number of uses); also how stale another replica's counts may be."""
    flush_max_uses: int = Field(default=10_000, ge=1000, le=1_000_000)
    """Buffered uses that make a replica flush before its interval (bounds memory and
    keeps writes at most 2 per 1,000 uses under load)."""
    retention_days: int = Field(default=400, ge=1, le=3660)
    """How long hourly counts and source addresses are kept (the job ``usage.purge``
    deletes older rows)."""
    purge_interval_seconds: float = Field(default=3600.0, gt=0)
    """How often the job ``usage.purge`` runs (once per period across replicas)."""
    recent_sources: int = Field(default=20, ge=1, le=200)
    """Distinct source addresses shown per key (the most recently seen)."""
    anomaly_enabled: bool = True
    """Whether the anomaly rules watch the uses (docs/usage-analytics.md)."""
    disabled_rules: list[UsageRuleName] = Field(default_factory=list)
    """Anomaly rules switched off (``rate``, ``new_caller``, ``new_source``,
    ``off_hours``, ``upstream_auth``, ``errors``, ``denied_host``)."""
    auto_block: list[UsageRuleName] = Field(default_factory=list)
    """Rules whose event also blocks the key at once (off for every rule by default);
    unblocking is an administrator's decision."""
    episode_quiet_seconds: float = Field(default=3600.0, ge=60)
    """An episode of a rule on a key ends once the rule has not tripped for this long;
    one security event per episode, cluster-wide."""
    rate_window_seconds: float = Field(default=300.0, ge=10)
    """The window the ``rate`` rule counts a key's uses in."""
    rate_factor: float = Field(default=10.0, gt=1)
    """``rate`` trips when a window holds more than this multiple of the key's baseline
    (an exponentially weighted mean of its previous windows) ..."""
    rate_min_uses: int = Field(default=100, ge=1)
    """... and more than this many uses (a quiet key is never flagged for a few calls)."""
    burst_window_seconds: float = Field(default=60.0, ge=1)
    """The window of the ``upstream_auth`` and ``errors`` rules."""
    upstream_auth_threshold: int = Field(default=5, ge=1)
    """Upstream 401/403 answers within the window that trip ``upstream_auth`` (a key
    revoked or narrowed upstream)."""
    error_threshold: int = Field(default=10, ge=1)
    """Upstream 5xx answers and calls with no answer (timeouts, refused connections)
    within the window that trip ``errors``."""
    off_hours_days: int = Field(default=14, ge=1, le=90)
    """The history (days, hourly counts) ``off_hours`` learns a key's usual hours from."""
    off_hours_min_uses: int = Field(default=500, ge=1)
    """Uses the history must hold before ``off_hours`` judges at all."""
    off_hours_max_share: float = Field(default=0.005, ge=0, lt=1)
    """An hour of the day (UTC) holding at most this share of the history's uses is
    outside the key's usual hours."""
