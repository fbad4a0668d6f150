"""Build the certificate domain from its settings section."""

from __future__ import annotations

from dataclasses import dataclass

from strongroom.audit.alerts import SecurityAlerts
from strongroom.audit.interfaces import AuditSink
from strongroom.config import PkiSettings
from strongroom.datakeys import Sealer
from strongroom.pki.authority import CertificateAuthorities
from strongroom.pki.inventory import CertificateInventory
from strongroom.pki.monitor import ExpiryMonitor
from strongroom.store.db import Database
from strongroom.store.notices import Notices


@dataclass(frozen=True)
class Pki:
    inventory: CertificateInventory
    monitor: ExpiryMonitor
    authorities: CertificateAuthorities


def build_pki(
    settings: PkiSettings,
    db: Database,
    audit: AuditSink,
    sealer: Sealer,
    notices: Notices,
    alerts: SecurityAlerts,
) -> Pki:
    inventory = CertificateInventory(db, audit, sealer, settings)
    monitor = ExpiryMonitor(db, notices, alerts, settings.monitor)
    inventory.key_reused = monitor.key_reused
    return Pki(inventory, monitor, CertificateAuthorities(inventory, settings.ca))
