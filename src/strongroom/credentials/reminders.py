"""Reminders before a stored key expires or falls due for rotation: an
``api_key.expiring`` or ``api_key.rotation_due`` security event (audit record, metric,
webhook) once per (key, deadline, threshold) across replicas.

``run_once(now)`` is one pass, registered as the cluster job ``api_keys.reminders``
(services/container.py): once per period cluster-wide, and safe on many replicas at
once anyway, since each reminder is claimed in the database first (store/notices.py).
The deadline is part of the claimed subject, so a key whose expiry is moved, or that
is rotated, is reminded again for its new deadline. Several thresholds passed since
the last pass claim all of them and send one event, for the nearest.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from strongroom.audit.actions import SecurityRule
from strongroom.audit.alerts import SecurityAlerts
from strongroom.audit.events import SEVERITY, SecurityEvent
from strongroom.credentials.core import KeyCore
from strongroom.credentials.models import resource
from strongroom.store import credentials_repo as repo
from strongroom.store.notices import Notices

EXPIRING = SecurityRule.API_KEY_EXPIRING
ROTATION_DUE = SecurityRule.API_KEY_ROTATION_DUE


class KeyReminders:
    def __init__(self, core: KeyCore, notices: Notices, alerts: SecurityAlerts) -> None:
        self._c, self._notices, self._alerts = core, notices, alerts

    @property
    def days(self) -> Sequence[int]:
        return self._c.settings.reminder_days  # sorted, largest first

    async def run_once(self, now: datetime) -> int:
        """One pass at ``now``; the number of reminders raised."""
        if not self.days:
            return 0
        async with self._c.db.read() as s:
            rows = await repo.due(s, now + timedelta(days=self.days[0]))
        events = []
        for row, proj in rows:
            name = resource(proj.name, row.name)
            deadlines = []
            if row.expires_at is not None and row.expires_at > now:
                deadlines.append((EXPIRING, row.expires_at, "expiresAt"))
            if row.rotate_after_days:
                due = row.rotated_at + timedelta(days=row.rotate_after_days)
                deadlines.append((ROTATION_DUE, due, "dueAt"))
            for rule, when, label in deadlines:
                passed = [d for d in self.days if when - now <= timedelta(days=d)]
                subject = f"{name}@{when.isoformat()}"
                claimed = [
                    d
                    for d in passed
                    if await self._notices.claim(row.tenant_id, str(rule), subject, f"{d}d")
                ]
                if claimed:
                    facts = [f"days={min(claimed)}", f"{label}={when.isoformat()}"]
                    events.append(
                        SecurityEvent(rule, SEVERITY[rule], name, row.tenant_id, {"facts": facts})
                    )
        if events:
            await self._alerts.raise_events(events)
        return len(events)
