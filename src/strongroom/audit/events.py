"""Security events: rules over the live stream of audit events.

``SecurityMonitor.observe(event)`` sees every audit event as it is appended and
returns the security events it raises. Rules (thresholds are configuration):

* ``auth.failures`` — at least N failed authentications within a minute from one
  client address or against one access-key id (default 5);
* ``auth.failures_global`` — at least N failed authentications within a minute
  whatever the address (default 100): guessing spread over many addresses, which
  the per-address rule never sees; critical;
* ``auth.revoked_credential`` — a revoked or expired credential was presented;
* ``auth.new_address`` — a principal authenticated from an address it was never
  seen using before (after it has been seen at all, so first use is quiet);
* ``decrypt.bulk`` — a principal decrypted for far more distinct users in the
  current window than its own baseline (the shape of bulk exfiltration);
* ``users.bulk`` — the same measure over every other operation on a user's key
  (encrypt, rewrap, rotate, policy, deletion, metadata reads): a principal suddenly
  touching many users (system principals, such as the scheduler, excepted);
* ``key.deletion`` — a key was scheduled for deletion or destroyed;
* ``rate.limited`` — a principal or an address exceeded a rate-limit budget (a 429):
  one event per subject and quiet period, however many requests were refused. Not
  seen in the audit stream (a refused request may leave no record), so the guard
  reports it (``rate_limited``).

Each rule has one severity on the incident scale of the security policy (seed 001:
P1 critical … P4 informational), ``SEVERITY`` below; docs/security-events.md lists
them with the reasons.

State is per process and bounded (LRU): a rule fires at most once per subject per
window. With ``shared_auth`` the two counting rules (``auth.failures`` and
``auth.failures_global``) are left to audit/shared_rules.py, which counts across
every replica (Redis, or the database), so guesses spread over replicas add up.
Security events hold identifiers only, like the audit events they come from.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from cachetools import LRUCache

from strongroom.audit.actions import AuthAction, KeyAction, SecurityRule
from strongroom.audit.models import AuditEvent, Outcome

_TRACKED = 50_000  # subjects remembered per rule
_AUTH = frozenset(AuthAction)
_DELETION = frozenset({KeyAction.DELETE_SCHEDULE, KeyAction.DESTROY})


class Severity(StrEnum):
    """Incident classification of the security policy (seed 001)."""

    P1 = "P1"  # critical: data breach, system compromise
    P2 = "P2"  # high: authentication bypass, privilege escalation
    P3 = "P3"  # medium: suspicious activity, policy violations
    P4 = "P4"  # low: minor security events, informational alerts

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {Severity.P1: "critical", Severity.P2: "high", Severity.P3: "medium", Severity.P4: "low"}

# One severity per rule (docs/security-events.md gives the reasons).
SEVERITY: dict[SecurityRule, Severity] = {
    SecurityRule.DECRYPT_BULK: Severity.P1,  # the shape of a data breach in progress
    # credential stuffing from many addresses (or through a proxy): an attack under way
    SecurityRule.AUTH_FAILURES_GLOBAL: Severity.P1,
    SecurityRule.AUTH_REVOKED_CREDENTIAL: Severity.P2,  # a withdrawn credential is in use
    SecurityRule.AUTH_FAILURES: Severity.P3,  # guessing or a misconfigured client
    SecurityRule.KEY_DELETION: Severity.P3,  # irreversible: confirm it was intended
    SecurityRule.RATE_LIMITED: Severity.P3,  # a policy violation: abuse or a runaway client
    SecurityRule.USERS_BULK: Severity.P3,  # suspicious: enumeration or a misused credential
    SecurityRule.AUTH_NEW_ADDRESS: Severity.P4,  # informational
    SecurityRule.SECRET_EXPIRING: Severity.P4,  # a reminder: rotate before it lapses
    # Certificates (pki/monitor.py): an expired certificate is an outage or a
    # connection accepted past its validity; one about to expire is work to schedule.
    SecurityRule.CERTIFICATE_EXPIRED: Severity.P2,
    SecurityRule.CERTIFICATE_CHAIN: Severity.P3,  # the chain breaks before the leaf
    SecurityRule.CERTIFICATE_EXPIRING: Severity.P3,
    SecurityRule.CERTIFICATE_KEY_REUSED: Severity.P4,  # a renewal kept its old key
    # Stored API keys (credentials/reminders.py): work to schedule before an outage.
    SecurityRule.API_KEY_EXPIRING: Severity.P3,
    SecurityRule.API_KEY_ROTATION_DUE: Severity.P4,
    # Stored API keys (credentials/anomaly.py): a key sent toward a host it is not for,
    # or used far above its own rate, is the shape of a stolen key or a runaway agent.
    SecurityRule.USAGE_DENIED_HOST: Severity.P2,
    SecurityRule.USAGE_RATE: Severity.P2,
    SecurityRule.USAGE_UPSTREAM_AUTH: Severity.P3,  # revoked or narrowed upstream
    SecurityRule.USAGE_NEW_CALLER: Severity.P3,
    SecurityRule.USAGE_OFF_HOURS: Severity.P3,
    SecurityRule.USAGE_NEW_SOURCE: Severity.P4,  # informational, like auth.new_address
    SecurityRule.USAGE_ERRORS: Severity.P4,  # the upstream is failing: availability
    # An MCP tool presented another input schema than the approved one: what a
    # compromised or swapped tool looks like; it is suspended until re-approved.
    SecurityRule.MCP_TOOL_SCHEMA_CHANGED: Severity.P2,
}


def severity_of(rule: str, stored: object = None) -> Severity:
    """A record's severity: the stored one, or (records written before severities
    were P1-P4) the rule's."""
    if isinstance(stored, str) and stored in Severity.__members__:
        return Severity(stored)
    try:
        return SEVERITY[SecurityRule(rule)]
    except (ValueError, KeyError):
        return Severity.P3


@dataclass(frozen=True)
class SecurityEvent:
    rule: SecurityRule
    severity: Severity
    subject: str  # the address, key id or principal the rule is about
    tenant: str
    detail: dict[str, Any] = field(default_factory=dict)
    # Identifier kinds (audit/redact.py KINDS) of the subject and of the facts, so
    # they are replaced by keyed tags wherever the operator marks that kind sensitive.
    subject_kind: str | None = None
    facts_kind: str | None = None


@dataclass(frozen=True)
class Thresholds:
    auth_failures_per_minute: int = 5
    auth_failures_global_per_minute: int = 100
    bulk_window_seconds: float = 300.0
    bulk_min_users: int = 50  # below this many distinct users per window, never bulk
    bulk_factor: float = 10.0  # ... and above this multiple of the principal's baseline
    rate_limited_quiet_seconds: float = 60.0  # one rate.limited per subject per period


class SecurityMonitor:
    def __init__(
        self,
        thresholds: Thresholds | None = None,
        clock: Callable[[], float] = time.monotonic,
        shared_auth: bool = False,
    ) -> None:
        self.t = thresholds or Thresholds()
        self.shared_auth = shared_auth
        self._clock = clock
        self._failures: LRUCache[str, deque[float]] = LRUCache(_TRACKED)
        self._quiet_until: LRUCache[tuple[SecurityRule, str], float] = LRUCache(_TRACKED)
        self._addresses: LRUCache[str, set[str]] = LRUCache(_TRACKED)
        self._decrypts: LRUCache[str, _Window] = LRUCache(_TRACKED)
        self._touches: LRUCache[str, _Window] = LRUCache(_TRACKED)
        self._all_failures = _Rate()

    def observe(self, e: AuditEvent) -> list[SecurityEvent]:
        out: list[SecurityEvent] = []
        if e.action in _AUTH:
            out += self._auth(e)
        elif e.action == KeyAction.DECRYPT and e.outcome is Outcome.SUCCESS:
            out += self._bulk(SecurityRule.DECRYPT_BULK, self._decrypts, e)
        elif e.action in _DELETION and e.outcome is Outcome.SUCCESS:
            deleted = self._event(SecurityRule.KEY_DELETION, e.target or "-", e, str(e.action))
            out.append(replace(deleted, subject_kind="userId"))
        if e.outcome is Outcome.SUCCESS and e.actor.client_addr:
            out += self._address(e)
        if (
            e.target_kind == "userId"
            and e.outcome is Outcome.SUCCESS
            and e.action != KeyAction.DECRYPT
            and not e.actor.principal.startswith("system:")
        ):
            out += self._bulk(SecurityRule.USERS_BULK, self._touches, e)
        return out

    def rate_limited(
        self, subject: str, budget: str, tenant: str, request_id: str
    ) -> list[SecurityEvent]:
        """A 429: ``subject`` is the principal id, or ``addr:<address>`` for an address's
        budget (``*`` for the budget of all addresses); ``budget`` names the bucket
        (access/limits.py). Cheap when quiet: one LRU lookup per refused request."""
        rule = SecurityRule.RATE_LIMITED
        if not self._once(rule, subject, self.t.rate_limited_quiet_seconds):
            return []
        detail = {"trigger": "RATE001", "request_id": request_id, "facts": [budget]}
        kind = "clientAddr" if subject.startswith("addr:") else None
        return [SecurityEvent(rule, SEVERITY[rule], subject, tenant, detail, subject_kind=kind)]

    # rules -----------------------------------------------------------------
    def _auth(self, e: AuditEvent) -> list[SecurityEvent]:
        if e.outcome is Outcome.SUCCESS:
            return []
        out: list[SecurityEvent] = []
        reason = (e.detail or {}).get("reason")
        if reason in ("revoked", "expired", "past-grace"):
            out.append(
                self._event(SecurityRule.AUTH_REVOKED_CREDENTIAL, e.actor.principal, e, reason)
            )
        if not self.shared_auth:  # else counted cluster-wide (audit/shared_rules.py)
            out += self.auth_counts(e)
        return out

    def auth_counts(self, e: AuditEvent) -> list[SecurityEvent]:
        """The counting rules over a failed authentication, in this process only."""
        out: list[SecurityEvent] = []
        count = self._all_failures.add(self._clock())
        if count >= self.t.auth_failures_global_per_minute and self._once(
            SecurityRule.AUTH_FAILURES_GLOBAL, "*", 60.0
        ):
            out.append(self._event(SecurityRule.AUTH_FAILURES_GLOBAL, "*", e, count))
        for subject in failure_subjects(e):
            count = self._count_failure(subject)
            if count >= self.t.auth_failures_per_minute and self._once(
                SecurityRule.AUTH_FAILURES, subject, 60.0
            ):
                out.append(failures_event(subject, e, count))
        return out

    def _count_failure(self, subject: str) -> int:
        now = self._clock()
        window = self._failures.get(subject) or deque()
        window.append(now)
        while window and window[0] < now - 60.0:
            window.popleft()
        self._failures[subject] = window
        return len(window)

    def _bulk(
        self, rule: SecurityRule, windows: LRUCache[str, _Window], e: AuditEvent
    ) -> list[SecurityEvent]:
        """Distinct users per principal and window against its own baseline."""
        principal = e.actor.principal
        window = windows.get(principal)
        if window is None:
            window = windows[principal] = _Window(self._clock(), self.t.bulk_window_seconds)
        users = window.add(self._clock(), e.target or "")
        limit = max(self.t.bulk_min_users, self.t.bulk_factor * window.baseline)
        if users > limit and self._once(rule, principal, self.t.bulk_window_seconds):
            return [self._event(rule, principal, e, users, window.baseline)]
        return []

    def _address(self, e: AuditEvent) -> list[SecurityEvent]:
        principal, addr = e.actor.principal, str(e.actor.client_addr)
        if principal.startswith("system:"):
            return []
        seen = self._addresses.get(principal)
        if seen is None:
            self._addresses[principal] = {addr}
            return []
        if addr in seen or len(seen) >= 1000:
            return []
        seen.add(addr)
        event = self._event(SecurityRule.AUTH_NEW_ADDRESS, principal, e, addr)
        return [replace(event, facts_kind="clientAddr")]

    # helpers ---------------------------------------------------------------
    def _once(self, rule: SecurityRule, subject: str, period: float) -> bool:
        now = self._clock()
        if self._quiet_until.get((rule, subject), 0.0) > now:
            return False
        self._quiet_until[(rule, subject)] = now + period
        return True

    @staticmethod
    def _event(rule: SecurityRule, subject: str, e: AuditEvent, *facts: Any) -> SecurityEvent:
        detail = {"trigger": str(e.action), "request_id": e.actor.request_id, "facts": list(facts)}
        return SecurityEvent(rule, SEVERITY[rule], subject, e.actor.tenant, detail)


def failure_subjects(e: AuditEvent) -> list[str]:
    """What ``auth.failures`` counts a failed authentication against: the client
    address and the access-key id (when known)."""
    subjects = {f"addr:{e.actor.client_addr}", f"key:{e.actor.principal}"}
    return sorted(s for s in subjects if not s.endswith((":None", ":anonymous")))


def failures_event(subject: str, e: AuditEvent, count: int) -> SecurityEvent:
    event = SecurityMonitor._event(SecurityRule.AUTH_FAILURES, subject, e, count)
    return replace(event, subject_kind="clientAddr" if subject.startswith("addr:") else None)


class _Window:
    """Distinct users per fixed window, with an exponentially weighted baseline of
    previous windows (so a principal that always reads many users is not flagged)."""

    def __init__(self, start: float, length: float) -> None:
        self.start, self.length = start, length
        self.users: set[str] = set()
        self.baseline = 0.0

    def add(self, now: float, user: str) -> int:
        if now - self.start >= self.length:
            periods = int((now - self.start) // self.length)
            self.baseline = 0.7 * self.baseline + 0.3 * len(self.users)
            for _ in range(min(periods - 1, 10)):  # idle windows pull the baseline down
                self.baseline *= 0.7
            self.start += periods * self.length
            self.users = set()
        if len(self.users) < 1_000_000:
            self.users.add(user)
        return len(self.users)


class _Rate:
    """Events in the last minute, in O(1) memory whatever the rate: a sliding window
    estimated from this and the previous fixed minute (weighted by their overlap)."""

    def __init__(self) -> None:
        self.start, self.current, self.previous = 0.0, 0, 0

    def add(self, now: float) -> int:
        if now - self.start >= 60.0:
            elapsed = int((now - self.start) // 60.0)
            self.previous = self.current if elapsed == 1 else 0
            self.current, self.start = 0, self.start + elapsed * 60.0
        self.current += 1
        overlap = 1.0 - (now - self.start) / 60.0
        return self.current + int(self.previous * overlap)
