"""Build the stored-key side of the credentials domain from its settings section."""

from __future__ import annotations

from dataclasses import dataclass

from strongroom.audit.alerts import SecurityAlerts
from strongroom.audit.interfaces import AuditSink
from strongroom.config import ApiKeysSettings
from strongroom.credentials.core import KeyCore
from strongroom.credentials.projects import ProjectService
from strongroom.credentials.reminders import KeyReminders
from strongroom.credentials.resolver import Directory, KeyResolver, MayUse
from strongroom.credentials.rotation import Rotation
from strongroom.credentials.service import ApiKeyService
from strongroom.datakeys import Sealer
from strongroom.store.db import Database
from strongroom.store.notices import Notices


@dataclass(frozen=True)
class StoredKeys:
    projects: ProjectService
    keys: ApiKeyService
    rotation: Rotation
    resolver: KeyResolver  # TargetResolver
    directory: Directory  # KeyDirectory
    reminders: KeyReminders
    # Shared state; ``core.usage`` is the UsageSink reveals report to (default: none).
    core: KeyCore


def build_stored_keys(
    settings: ApiKeysSettings,
    db: Database,
    sealer: Sealer,
    audit: AuditSink,
    notices: Notices,
    alerts: SecurityAlerts,
    may_use: MayUse,
) -> StoredKeys:
    core = KeyCore(db, sealer, audit, settings)
    keys = ApiKeyService(core)
    return StoredKeys(
        ProjectService(core),
        keys,
        Rotation(core),
        KeyResolver(core),
        Directory(core, keys, may_use),
        KeyReminders(core, notices, alerts),
        core,
    )
