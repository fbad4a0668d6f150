"""Build the keys domain from its section: caches, change feed, optional Redis
(hints and the shared metadata cache), and the services over one ``KeyCore``."""

from __future__ import annotations

from dataclasses import dataclass

from strongroom.audit.interfaces import AuditSink
from strongroom.config import KeysSettings
from strongroom.keys.blind_index import BlindIndex
from strongroom.keys.cache import KeyCaches
from strongroom.keys.core import KeyCore
from strongroom.keys.feed import ChangeFeed
from strongroom.keys.hints import RedisHints
from strongroom.keys.lifecycle import LifecycleService
from strongroom.keys.rotation import RotationService
from strongroom.keys.service import KeyService
from strongroom.keys.shared_cache import RedisMetadataCache
from strongroom.keys.statement import KeyStatements
from strongroom.kms.interfaces import Kms
from strongroom.store.db import Database


@dataclass(frozen=True)
class Keys:
    service: KeyService
    rotation: RotationService
    lifecycle: LifecycleService
    feed: ChangeFeed
    hints: RedisHints | None
    statements: KeyStatements
    blind_index: BlindIndex


def build_keys(
    settings: KeysSettings, redis_url: str | None, db: Database, kms: Kms, audit: AuditSink
) -> Keys:
    cache = settings.cache
    caches = KeyCaches(
        metadata_ttl=cache.metadata_ttl_seconds,
        private_size=cache.private_key_size,
        private_ttl=cache.private_key_ttl_seconds,
        data_key_size=cache.data_key_size,
    )
    feed = ChangeFeed(
        db,
        caches,
        interval=settings.feed.interval_seconds,
        window=settings.feed.window_seconds,
        max_staleness=settings.feed.max_staleness_seconds,
    )
    hints = RedisHints(redis_url, feed.hint) if redis_url else None
    shared = (
        RedisMetadataCache(redis_url, feed, ttl=cache.metadata_ttl_seconds) if redis_url else None
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
    return Keys(
        KeyService(core),
        rotation,
        LifecycleService(core, rotation),
        feed,
        hints,
        KeyStatements(core, settings.statement_ttl_seconds),
        BlindIndex(core),
    )
