"""Build the access domain from its sections: stored access keys and rate limits.
(The authenticator is built by access/policy.py, client certificates by access/mtls.py.)"""

from __future__ import annotations

from strongroom.access.limits import LimitPolicy, RateLimits
from strongroom.access.ratelimit import LocalBuckets, RedisBuckets
from strongroom.access.service import AccessService
from strongroom.audit.interfaces import AuditSink
from strongroom.config import AccessSettings, LimitsSettings
from strongroom.kms.interfaces import Kms
from strongroom.store.db import Database


def build_access(
    settings: AccessSettings, db: Database, kms: Kms, audit: AuditSink
) -> AccessService:
    return AccessService(
        db,
        kms,
        audit,
        cache_ttl=settings.key_cache_ttl_seconds,
        grace_seconds=settings.key_rotation_grace_seconds,
        usage_flush_seconds=settings.key_usage_flush_seconds,
    )


def build_limits(settings: LimitsSettings, redis_url: str | None) -> RateLimits:
    """Buckets in Redis when configured (shared by replicas), else in this process."""
    buckets = RedisBuckets(redis_url) if redis_url else LocalBuckets()
    policy = LimitPolicy(
        requests_per_minute=settings.requests_per_minute,
        items_per_minute=settings.items_per_minute,
        unauthenticated_per_minute=settings.unauthenticated_per_minute,
        failed_auth_per_minute=settings.failed_auth_per_minute,
        decrypt_users_per_window=settings.decrypt_users_per_window,
        decrypt_users_window_seconds=settings.decrypt_users_window_seconds,
        role_requests_per_minute=settings.role_requests_per_minute,
        principal_requests_per_minute=settings.principal_requests_per_minute,
    )
    return RateLimits(buckets, policy, enabled=settings.enabled)
