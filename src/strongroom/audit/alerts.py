"""Where security events go: the audit trail (action ``security.<rule>``, so they
are tamper-evident and queryable like every other record), a Prometheus counter,
and an optional webhook (audit/webhook.py: Standard Webhooks signatures, one shared
client, bounded retries).

Raising an alarm never delays or fails the request that triggered it: events are
dispatched in background tasks, at most ``max_pending`` at once (more are recorded
and counted but not posted). Identifiers the operator marks sensitive
(``audit.sensitive_identifiers``) leave as their keyed tags (audit/redact.py), the
same in the record, the API and the webhook body.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Coroutine, Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, Protocol

import structlog

from strongroom.audit.actions import SECURITY_PREFIX, SecurityAction
from strongroom.audit.events import SecurityEvent, SecurityMonitor
from strongroom.audit.models import AuditEvent, Outcome
from strongroom.audit.redact import AuditHasher
from strongroom.audit.shared_rules import SharedAuthRules
from strongroom.audit.webhook import WebhookSender
from strongroom.context import Actor
from strongroom.observability.metrics import SECURITY_EVENTS

log = structlog.get_logger("strongroom.security")

REDACTED = "[redacted]"  # a sensitive value when no lookup key is loaded to tag it


class Appender(Protocol):
    hasher: AuditHasher | None

    async def append(self, event: AuditEvent) -> None: ...


class SecurityAlerts:
    def __init__(
        self,
        monitor: SecurityMonitor,
        webhook_url: str | None = None,
        webhook_secret: str | None = None,
        attempts: int = 3,
        sensitive: Iterable[str] = (),
        max_pending: int = 1000,
        shared: SharedAuthRules | None = None,
    ) -> None:
        self.monitor = monitor
        self.shared = shared
        self.webhook = (
            WebhookSender(webhook_url, webhook_secret, attempts=attempts) if webhook_url else None
        )
        self._sensitive = frozenset(sensitive)
        self._max_pending = max_pending
        self._audit: Appender | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def attach(self, audit: Appender) -> None:
        self._audit = audit

    def observe(self, event: AuditEvent) -> None:
        """Called for every audit event as it is written (never for our own records)."""
        if event.action.startswith(SECURITY_PREFIX):
            return
        self._spawn(self.monitor.observe(event))
        if self.shared is not None and self.shared.applies(event):
            if len(self._tasks) >= self._max_pending:  # a flood: count here, not there
                self._spawn(self.monitor.auth_counts(event))
            else:
                self._track(self._shared_then_dispatch(self.shared, event))

    def rate_limited(self, subject: str, budget: str, tenant: str, request_id: str) -> None:
        """Called by the guard for every 429 (access/guard.py); raises ``rate.limited``
        at most once per subject and quiet period (audit/events.py)."""
        self._spawn(self.monitor.rate_limited(subject, budget, tenant, request_id))

    def _spawn(self, raised: list[SecurityEvent]) -> None:
        if raised:
            self._track(self._dispatch(raised))

    def _track(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _shared_then_dispatch(self, shared: SharedAuthRules, event: AuditEvent) -> None:
        raised = await shared.observe(event)
        if raised:
            await self._dispatch(raised)

    async def _dispatch(self, events: Sequence[SecurityEvent]) -> None:
        for raw in events:
            e = self.redact(raw)
            SECURITY_EVENTS.labels(e.rule, e.severity).inc()
            log.warning("security_event", rule=e.rule, severity=e.severity, tenant=e.tenant)
            if self._audit is not None:
                try:
                    await self._audit.append(_as_audit(e))
                except Exception as exc:  # the alarm still goes to metrics and webhook
                    log.error("security_event_not_recorded", error_type=type(exc).__name__)
            if self.webhook is not None:
                if len(self._tasks) > self._max_pending:  # a flood must not pile up posts
                    log.error("security_webhook_dropped", rule=e.rule)
                    continue
                await self.webhook.send(payload(e))

    def redact(self, e: SecurityEvent) -> SecurityEvent:
        """``e`` with each identifier of a sensitive kind replaced by its keyed tag."""
        hasher = self._audit.hasher if self._audit is not None else None

        def tag(value: str) -> str:
            return hasher.tag(value) if hasher is not None and hasher.ready else REDACTED

        if e.subject_kind in self._sensitive and e.subject != "-":
            prefix = "addr:" if e.subject.startswith("addr:") else ""  # auth.failures
            e = replace(e, subject=prefix + tag(e.subject.removeprefix(prefix)))
        if e.facts_kind in self._sensitive:
            facts = [tag(str(f)) for f in e.detail.get("facts", [])]
            e = replace(e, detail={**e.detail, "facts": facts})
        return e

    async def drain(self) -> None:
        """Wait for dispatches in flight (tests, shutdown)."""
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        """Finish what is in flight, then close the webhook's HTTP client."""
        await self.drain()
        if self.webhook is not None:
            await self.webhook.close()
        if self.shared is not None:
            await self.shared.close()


def payload(e: SecurityEvent) -> bytes:
    """The webhook body (docs/security-events.md): identifiers only, already redacted."""
    body: dict[str, Any] = {
        "type": SECURITY_PREFIX + e.rule,
        "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "rule": e.rule,
        "severity": e.severity,
        "severityLabel": e.severity.label,
        "subject": e.subject,
        "tenant": e.tenant,
        "detail": e.detail,
    }
    return json.dumps(body, sort_keys=True).encode()


def _as_audit(e: SecurityEvent) -> AuditEvent:
    actor = Actor("system:security-monitor", e.tenant, str(e.detail.get("request_id", "-")), None)
    detail = {"severity": str(e.severity), "facts": e.detail.get("facts", [])}
    # The subject is already a tag where its kind is sensitive (redact), the same tag
    # the writer would make, so target lookups by the value in clear still find it.
    return AuditEvent(actor, SecurityAction.of(e.rule), Outcome.SUCCESS, e.subject, detail=detail)
