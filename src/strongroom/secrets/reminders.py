"""Reminders before a secret version expires: a ``secret.expiring`` security event
(audit record, metric, webhook) once per (version, threshold) across replicas.

``run_once(now)`` is one pass, registered as the cluster job ``secrets.reminders``
(services/container.py ``build_jobs``: once per period across replicas), and safe on
any number of replicas at once anyway: each reminder is claimed in the database
first (store/notices.py), so only one replica sends it. A version that passed
several thresholds since the last pass (created 5 days before expiry: 30 and 7)
claims all of them and sends one event, for the nearest. A crash between claim and
send loses that reminder rather than sending it twice; the expiry itself stays
visible in the metadata and reads answer 410.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import structlog

from strongroom.audit.actions import SecurityRule
from strongroom.audit.alerts import SecurityAlerts
from strongroom.audit.events import SEVERITY, SecurityEvent
from strongroom.secrets.core import PATH_KIND, SecretCore
from strongroom.store import secrets_repo as repo
from strongroom.store.notices import Notices

log = structlog.get_logger("strongroom.secrets")
KIND = str(SecurityRule.SECRET_EXPIRING)  # the notices kind
RULE = SecurityRule.SECRET_EXPIRING


class ExpiryReminders:
    def __init__(self, core: SecretCore, notices: Notices, alerts: SecurityAlerts) -> None:
        self._c, self._notices, self._alerts = core, notices, alerts

    @property
    def days(self) -> Sequence[int]:
        return self._c.settings.reminder_days  # sorted, largest first

    async def run_once(self, now: datetime) -> int:
        """One pass at ``now``; the number of reminders raised."""
        if not self.days:
            return 0
        async with self._c.db.read() as s:
            due = await repo.expiring(s, now + timedelta(days=self.days[0]), now)
        events = []
        for tenant, path, version, expires in due:
            subject = f"{path}#{version}"
            passed = [d for d in self.days if expires - now <= timedelta(days=d)]
            claimed = [
                d for d in passed if await self._notices.claim(tenant, KIND, subject, f"{d}d")
            ]
            if claimed:
                nearest = min(claimed)
                facts = [
                    f"version={version}",
                    f"days={nearest}",
                    f"expiresAt={expires.isoformat()}",
                ]
                event = SecurityEvent(
                    RULE, SEVERITY[RULE], path, tenant, {"facts": facts}, subject_kind=PATH_KIND
                )
                events.append(event)
        if events:
            self._alerts.raise_events(events)
        return len(events)
