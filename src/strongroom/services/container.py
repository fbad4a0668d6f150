"""Builds every service from settings. The one place that wires dependencies."""

from __future__ import annotations

from dataclasses import dataclass, field

from strongroom.access.guard import Guard
from strongroom.access.limits import LimitPolicy, RateLimits
from strongroom.access.mtls import ClientCertificates, build_client_certificates
from strongroom.access.policy import Authenticator, build_authenticator
from strongroom.access.ratelimit import LocalBuckets, RedisBuckets
from strongroom.access.service import AccessService
from strongroom.audit.alerts import SecurityAlerts
from strongroom.audit.events import SecurityMonitor, Thresholds
from strongroom.audit.queries import AuditQueries
from strongroom.audit.service import AuditLog
from strongroom.config import Settings
from strongroom.keys.cache import KeyCaches
from strongroom.keys.core import KeyCore
from strongroom.keys.feed import ChangeFeed
from strongroom.keys.hints import RedisHints
from strongroom.keys.lifecycle import LifecycleService
from strongroom.keys.rotation import RotationService
from strongroom.keys.service import KeyService
from strongroom.keys.shared_cache import RedisMetadataCache
from strongroom.kms.factory import build_kms
from strongroom.kms.interfaces import Kms
from strongroom.store.db import Database
from strongroom.store.migrate import upgrade
from strongroom.store.tenancy import ALL, enter_system_scope, set_tenant

# enter_system_scope: for the app lifespan (api/app.py), which holds no store import.
__all__ = ["Services", "build_limits", "build_services", "enter_system_scope", "scope_to_tenant"]


@dataclass
class Services:
    settings: Settings
    db: Database
    kms: Kms
    audit: AuditLog
    access: AccessService
    keys: KeyService
    rotation: RotationService
    lifecycle: LifecycleService
    feed: ChangeFeed
    alerts: SecurityAlerts
    audit_queries: AuditQueries
    limits: RateLimits
    hints: RedisHints | None = None
    mtls: ClientCertificates | None = None  # client certificates (access/mtls.py)
    # Authentication policy over access keys, bearer tokens, mTLS (access/policy.py).
    auth: Authenticator = field(init=False)
    # What every transport calls before a service (access/guard.py).
    guard: Guard = field(init=False)

    def __post_init__(self) -> None:
        self.auth = build_authenticator(self.settings, self.db, self.access, self.audit)
        self.guard = Guard(self.auth, self.limits, self.audit, self.mtls)

    async def start(self, *, migrate: bool = False) -> None:
        if migrate:
            await upgrade(self.db)
        await self.audit.start()  # opens this process's audit segment
        await self.access.load_pepper()

    async def readiness(self) -> tuple[bool, dict[str, bool]]:
        """(ready, checks). Redis is optional: down means slower, so it is reported
        but does not make the replica unready; the database and the KMS do."""
        checks = {"database": await self.db.ping(), "kms": await self.kms.health()}
        ready = all(checks.values())
        if self.hints is not None:
            checks["redis"] = await self.hints.ping()
        checks["key_cache_trusted"] = self.feed.trusted()
        return ready, checks

    async def close(self) -> None:
        await self.access.close()  # writes the buffered "last used" times
        await self.auth.close()
        await self.alerts.drain()
        if self.hints is not None:
            await self.hints.close()
        if self.keys.core.shared is not None:
            await self.keys.core.shared.close()
        await self.limits.close()
        await self.audit.close()
        await self.kms.close()
        await self.db.dispose()


def build_services(
    settings: Settings, kms: Kms | None = None, audit_class: type[AuditLog] = AuditLog
) -> Services:
    """Compose the services. ``kms`` and ``audit_class`` are injection points for
    tests and benchmarks (e.g. bench/'s null audit sink), never settings."""
    db = Database(settings.database_url)
    kms = kms or build_kms(settings)
    alerts = SecurityAlerts(
        SecurityMonitor(
            Thresholds(
                auth_failures_per_minute=settings.security_auth_failures_per_minute,
                bulk_window_seconds=settings.security_bulk_window_seconds,
                bulk_min_users=settings.security_bulk_min_users,
                bulk_factor=settings.security_bulk_factor,
            )
        ),
        settings.security_webhook_url,
        settings.security_webhook_secret,
    )
    audit = audit_class(
        db,
        flush_interval_s=settings.audit_flush_interval_ms / 1000,
        observer=alerts.observe,
        kms=kms,
        heartbeat_s=settings.audit_heartbeat_seconds,
        checkpoint_records=settings.audit_checkpoint_records,
        checkpoint_s=settings.audit_checkpoint_seconds,
        sensitive_identifiers=settings.audit_sensitive_identifiers,
    )
    alerts.attach(audit)
    caches = KeyCaches(
        metadata_ttl=settings.metadata_cache_ttl_seconds,
        private_size=settings.private_key_cache_size,
        private_ttl=settings.private_key_cache_ttl_seconds,
        data_key_size=settings.data_key_cache_size,
    )
    feed = ChangeFeed(
        db,
        caches,
        interval=settings.key_feed_interval_seconds,
        window=settings.key_feed_window_seconds,
        max_staleness=settings.key_feed_max_staleness_seconds,
    )
    hints = RedisHints(settings.redis_url, feed.hint) if settings.redis_url else None
    shared = (
        RedisMetadataCache(settings.redis_url, feed, ttl=settings.metadata_cache_ttl_seconds)
        if settings.redis_url
        else None
    )
    core = KeyCore(
        db=db,
        kms=kms,
        audit=audit,
        caches=caches,
        settings=settings,
        feed=feed,
        hints=hints,
        shared=shared,
    )
    rotation = RotationService(core)
    limits = build_limits(settings)
    return Services(
        settings=settings,
        db=db,
        kms=kms,
        audit=audit,
        access=AccessService(
            db,
            kms,
            audit,
            cache_ttl=settings.access_key_cache_ttl_seconds,
            grace_seconds=settings.access_key_rotation_grace_seconds,
            usage_flush_seconds=settings.access_key_usage_flush_seconds,
        ),
        keys=KeyService(core),
        rotation=rotation,
        lifecycle=LifecycleService(core, rotation),
        feed=feed,
        alerts=alerts,
        audit_queries=AuditQueries(db, kms, audit),
        hints=hints,
        limits=limits,
        mtls=build_client_certificates(settings),
    )


def build_limits(settings: Settings) -> RateLimits:
    buckets = RedisBuckets(settings.redis_url) if settings.redis_url else LocalBuckets()
    policy = LimitPolicy(
        requests_per_minute=settings.rate_limit_requests_per_minute,
        items_per_minute=settings.rate_limit_items_per_minute,
        unauthenticated_per_minute=settings.rate_limit_unauthenticated_per_minute,
        decrypt_users_per_window=settings.rate_limit_decrypt_users_per_window,
        decrypt_users_window_seconds=settings.rate_limit_decrypt_users_window_seconds,
        role_requests_per_minute=settings.rate_limit_role_requests_per_minute,
        principal_requests_per_minute=settings.rate_limit_principal_requests_per_minute,
    )
    return RateLimits(buckets, policy, enabled=settings.rate_limit_enabled)


def scope_to_tenant(tenant: str | None) -> None:
    """Bind this request's database access to ``tenant`` (None: every tenant), which
    PostgreSQL enforces by row-level security (store/tenancy.py, migration 0007)."""
    set_tenant(ALL if tenant is None else tenant)
