"""Build the share service from its settings section (and FIPS mode)."""

from __future__ import annotations

from strongroom.audit.interfaces import AuditSink
from strongroom.config import ComplianceSettings, SharesSettings
from strongroom.datakeys import Sealer
from strongroom.kms.interfaces import Kms
from strongroom.secrets.shares import ShareLimits, ShareService
from strongroom.secrets.shares_kdf import KdfParams, PassphraseHasher
from strongroom.store.db import Database


def build_shares(
    settings: SharesSettings,
    compliance: ComplianceSettings,
    db: Database,
    kms: Kms,
    audit: AuditSink,
    sealer: Sealer,
) -> ShareService:
    hasher = PassphraseHasher(
        KdfParams(
            fips=compliance.fips,
            argon2_time_cost=settings.argon2_time_cost,
            argon2_memory_kib=settings.argon2_memory_kib,
            argon2_parallelism=settings.argon2_parallelism,
            pbkdf2_iterations=settings.pbkdf2_iterations,
        )
    )
    limits = ShareLimits(
        max_ttl_seconds=settings.max_ttl_seconds,
        max_views=settings.max_views,
        max_value_bytes=settings.max_value_bytes,
        passphrase_attempts=settings.passphrase_attempts,
        keep_ended_days=settings.keep_ended_days,
    )
    return ShareService(db, kms, audit, sealer, hasher, limits)
