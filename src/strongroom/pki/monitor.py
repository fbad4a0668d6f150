"""The expiry monitor: ``run_once(now)`` looks at every unrevoked certificate that
has not been renewed and raises, once per (certificate, threshold) across every
replica (``Notices.claim``), a security event (audit record, webhook, metric):

* ``certificate.expiring`` — at most N days (``expiry_days``) or a fraction of its
  lifetime (``expiry_fractions``) left. A pass that finds several thresholds crossed
  at once (a certificate imported with 5 days left) raises only the tightest and
  marks the looser ones as sent: one alert that says "5 days", not three;
* ``certificate.expired`` — past its notAfter;
* ``certificate.chain_expires_first`` — an issuer up its chain (as linked in the
  inventory) expires before it does: the chain breaks first. Once per issuer.

It also sets the gauge ``strongroom_certificate_not_after_timestamp_seconds``. The
clock is injectable, so tests (and a cluster-wide job runner) drive passes."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import structlog
from cachetools import LRUCache

from strongroom.audit.actions import CertificateAction, SecurityRule
from strongroom.audit.alerts import SecurityAlerts
from strongroom.audit.events import SEVERITY, SecurityEvent
from strongroom.config import CertificateMonitorSettings
from strongroom.context import Actor
from strongroom.observability.metrics import CERTIFICATE_NOT_AFTER
from strongroom.store import pki_repo
from strongroom.store.db import Database
from strongroom.store.models import Certificate
from strongroom.store.notices import Notices

log = structlog.get_logger("strongroom.pki.monitor")
NOTICE_KIND = "certificate-expiry"
_CHAIN_DEPTH = 10
_REMEMBERED = 100_000


@dataclass(frozen=True)
class Due:
    threshold: str  # the claim's key: "days:7", "fraction:0.1", "expired", "chain:<fp…>"
    rule: SecurityRule
    window: timedelta  # how much time the threshold allows (tightest first)
    fact: str


class ExpiryMonitor:
    def __init__(
        self,
        db: Database,
        notices: Notices,
        alerts: SecurityAlerts,
        settings: CertificateMonitorSettings,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.db, self.notices, self.alerts = db, notices, alerts
        self.settings, self.clock = settings, clock
        # Known sent, so no claim query next pass; bounded (a forgotten one costs a
        # claim that loses, never a second alert).
        self._claimed: LRUCache[tuple[str, str, str], bool] = LRUCache(_REMEMBERED)
        self._exported: set[str] = set()

    async def run_once(self, now: datetime | None = None) -> list[SecurityEvent]:
        """One pass (in system scope: every tenant). Returns the events it raised."""
        now = now or self.clock()
        async with self.db.read() as s:
            certs = list(await pki_repo.monitored(s))
            links = await pki_repo.chain_links(s)
        raised: list[SecurityEvent] = []
        for cert in certs:
            raised += await self._check(cert, now, links)
        if raised:
            await self.alerts.raise_events(raised)
        self._export(certs)
        return raised

    async def run_job(self, now: datetime) -> int:
        """The cluster job (services/jobs.py ``certificates.expiry``): alerts raised."""
        return len(await self.run_once(now))

    async def _check(
        self, c: Certificate, now: datetime, links: dict[int, tuple[int | None, datetime, str]]
    ) -> list[SecurityEvent]:
        out: list[SecurityEvent] = []
        expiry = self._expiry(c, now)
        for i, due in enumerate(expiry):
            # Only the tightest crossed threshold is raised; the looser are marked sent.
            if await self._claim(c, due.threshold) and i == 0:
                out.append(self._event(c, due))
        for due in _chain(c, links):
            if await self._claim(c, due.threshold):
                out.append(self._event(c, due))
        return out

    def _expiry(self, c: Certificate, now: datetime) -> list[Due]:
        if now >= c.not_after:
            return [Due("expired", SecurityRule.CERTIFICATE_EXPIRED, timedelta(0), "expired")]
        left, lifetime = c.not_after - now, c.not_after - c.not_before
        crossed = [
            Due(f"days:{d}", SecurityRule.CERTIFICATE_EXPIRING, timedelta(days=d), f"days:{d}")
            for d in self.settings.expiry_days
            if left <= timedelta(days=d)
        ] + [
            Due(f"fraction:{f}", SecurityRule.CERTIFICATE_EXPIRING, lifetime * f, f"fraction:{f}")
            for f in self.settings.expiry_fractions
            if left <= lifetime * f
        ]
        return sorted(crossed, key=lambda d: d.window)

    async def _claim(self, c: Certificate, threshold: str) -> bool:
        key = (c.tenant_id, c.fingerprint, threshold)
        if key in self._claimed:
            return False
        won = await self.notices.claim(c.tenant_id, NOTICE_KIND, c.fingerprint, threshold)
        self._claimed[key] = True  # sent by us or by another replica: never again
        return won

    @staticmethod
    def _event(c: Certificate, due: Due) -> SecurityEvent:
        detail = {
            "trigger": "certificate-monitor",
            "request_id": "-",
            "facts": [due.fact, c.not_after.isoformat()],
        }
        return SecurityEvent(due.rule, SEVERITY[due.rule], c.fingerprint, c.tenant_id, detail)

    def key_reused(self, actor: Actor, fingerprint: str, renewed: str) -> None:
        """Heard from the inventory when a renewal keeps its predecessor's key."""
        rule = SecurityRule.CERTIFICATE_KEY_REUSED
        detail = {
            "trigger": str(CertificateAction.IMPORT),
            "request_id": actor.request_id,
            "facts": [renewed],
        }
        event = SecurityEvent(rule, SEVERITY[rule], fingerprint, actor.tenant, detail)
        self.alerts.raise_later([event])

    def _export(self, certs: list[Certificate]) -> None:
        limit = self.settings.metrics_max_series
        shown = {c.fingerprint: c.not_after for c in certs[:limit]}  # soonest first
        for gone in self._exported - shown.keys():
            with contextlib.suppress(KeyError):
                CERTIFICATE_NOT_AFTER.remove(gone)
        for fp, when in shown.items():
            CERTIFICATE_NOT_AFTER.labels(fp).set(when.timestamp())
        self._exported = set(shown)


def _chain(c: Certificate, links: dict[int, tuple[int | None, datetime, str]]) -> list[Due]:
    out: list[Due] = []
    parent, seen = c.issuer_id, {c.id}
    while parent is not None and parent not in seen and len(seen) <= _CHAIN_DEPTH:
        seen.add(parent)
        found = links.get(parent)
        if found is None:
            break
        grand, not_after, fp = found
        if not_after < c.not_after:
            # notices_sent.threshold holds 64 characters: 128 bits of the issuer's id
            out.append(Due(f"chain:{fp[:32]}", SecurityRule.CERTIFICATE_CHAIN, timedelta(0), fp))
        parent = grand
    return out
