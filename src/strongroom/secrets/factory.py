"""Build the vault from its settings section, over the shared sealer and notices."""

from __future__ import annotations

from dataclasses import dataclass

from strongroom.audit.alerts import SecurityAlerts
from strongroom.audit.interfaces import AuditSink
from strongroom.config import SecretsSettings
from strongroom.datakeys import Sealer
from strongroom.secrets.core import SecretCore
from strongroom.secrets.lifecycle import SecretLifecycle
from strongroom.secrets.listing import SecretListing
from strongroom.secrets.reminders import ExpiryReminders
from strongroom.secrets.service import SecretService
from strongroom.store.db import Database
from strongroom.store.notices import Notices


@dataclass(frozen=True)
class Vault:
    service: SecretService  # write, read
    lifecycle: SecretLifecycle  # metadata, delete, undelete, destroy, purge, promote
    listing: SecretListing
    reminders: ExpiryReminders
    # Shared state; ``core.on_gone`` takes hooks told when versions are gone for good
    # (shares of them end: wired in services/container.py).
    core: SecretCore


def build_secrets(
    settings: SecretsSettings,
    db: Database,
    sealer: Sealer,
    audit: AuditSink,
    notices: Notices,
    alerts: SecurityAlerts,
) -> Vault:
    core = SecretCore(db, sealer, audit, settings)
    return Vault(
        SecretService(core),
        SecretLifecycle(core),
        SecretListing(core),
        ExpiryReminders(core, notices, alerts),
        core,
    )
