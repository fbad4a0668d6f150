"""Build the audit log and the security alerts that watch it, from their sections."""

from __future__ import annotations

from strongroom.audit.alerts import SecurityAlerts
from strongroom.audit.anchors import Anchors
from strongroom.audit.events import SecurityMonitor, Thresholds
from strongroom.audit.service import AuditLog
from strongroom.audit.shared_rules import SharedAuthRules
from strongroom.config import AuditSettings, SecurityEventsSettings
from strongroom.kms.interfaces import Kms
from strongroom.store.cluster import DatabaseCounters, RedisCounters, SharedCounters
from strongroom.store.db import Database


def build_audit(
    settings: AuditSettings,
    events: SecurityEventsSettings,
    db: Database,
    kms: Kms,
    audit_class: type[AuditLog] = AuditLog,
    redis_url: str | None = None,
) -> tuple[AuditLog, SecurityAlerts]:
    """The log and its alerts, attached to each other. ``audit_class`` lets tests and
    benchmarks substitute a sink (bench/'s null audit). The counting rules count
    across replicas in Redis when configured, else in a shared database; a SQLite
    file has one process, which counts alone (audit/shared_rules.py)."""
    monitor = SecurityMonitor(
        Thresholds(
            auth_failures_per_minute=events.auth_failures_per_minute,
            auth_failures_global_per_minute=events.auth_failures_global_per_minute,
            bulk_window_seconds=events.bulk_window_seconds,
            bulk_min_users=events.bulk_min_users,
            bulk_factor=events.bulk_factor,
        )
    )
    counters: SharedCounters | None = (
        RedisCounters(redis_url) if redis_url else (None if db.is_sqlite else DatabaseCounters(db))
    )
    alerts = SecurityAlerts(
        monitor,
        events.webhook_url,
        events.webhook_secret,
        sensitive=settings.sensitive_identifiers,
        shared=SharedAuthRules(monitor, counters) if counters is not None else None,
    )
    audit = audit_class(
        db,
        flush_interval_s=settings.flush_interval_ms / 1000,
        observer=alerts.observe,
        kms=kms,
        heartbeat_s=settings.heartbeat_seconds,
        checkpoint_records=settings.checkpoint_records,
        checkpoint_s=settings.checkpoint_seconds,
        sensitive_identifiers=settings.sensitive_identifiers,
        anchors=Anchors(settings.anchors),
    )
    alerts.attach(audit)
    return audit, alerts
