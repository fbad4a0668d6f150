"""The counting security rules, counted across every replica.

``auth.failures`` (per address and per access-key id) and ``auth.failures_global``
count failed authentications per minute. Counted per process, an attacker who
spreads guesses over N replicas multiplies the threshold by N; here the counts and
the "once per subject and minute" claims live in Redis when it is configured, else
in the database (store/cluster.py), so 3 guesses at each of two replicas raise
``auth.failures`` once, as 6 at one replica do.

Degrades, never fails: when the shared store does not answer (or too many counts
are already in flight, e.g. during a flood with no Redis), the event is counted by
this replica alone (audit/events.py ``auth_counts``), as before.

Round trips per failed authentication: one count for the global rule and one per
subject (two), plus one claim for each count at or above its threshold.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import structlog

from strongroom.audit.actions import AuthAction, SecurityRule
from strongroom.audit.events import SecurityEvent, SecurityMonitor, failure_subjects
from strongroom.audit.events import failures_event as _failures_event
from strongroom.audit.models import AuditEvent, Outcome
from strongroom.store.cluster import SharedCounters

log = structlog.get_logger("strongroom.security")

_AUTH = frozenset(AuthAction)
WINDOW = 60.0  # seconds: the rules count per minute


class SharedAuthRules:
    def __init__(
        self,
        monitor: SecurityMonitor,
        counters: SharedCounters,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.monitor, self.counters, self._clock = monitor, counters, clock
        monitor.shared_auth = True

    @staticmethod
    def applies(e: AuditEvent) -> bool:
        return e.action in _AUTH and e.outcome is not Outcome.SUCCESS

    async def observe(self, e: AuditEvent) -> list[SecurityEvent]:
        try:
            return await self._observe(e)
        except Exception as exc:  # Redis or the database away: count here
            log.warning("shared_security_counts_unavailable", error_type=type(exc).__name__)
            return self.monitor.auth_counts(e)

    async def _observe(self, e: AuditEvent) -> list[SecurityEvent]:
        t, now, out = self.monitor.t, self._clock(), []
        rule = SecurityRule.AUTH_FAILURES_GLOBAL
        count = await self.counters.add("auth-failures:*", WINDOW, now)
        if count >= t.auth_failures_global_per_minute and await self.counters.once(
            f"{rule}:*", WINDOW, now
        ):
            out.append(SecurityMonitor._event(rule, "*", e, count))
        for subject in failure_subjects(e):
            count = await self.counters.add(f"auth-failures:{subject}", WINDOW, now)
            if count >= t.auth_failures_per_minute and await self.counters.once(
                f"{SecurityRule.AUTH_FAILURES}:{subject}", WINDOW, now
            ):
                out.append(_failures_event(subject, e, count))
        return out

    async def close(self) -> None:
        await self.counters.close()
