"""Where security events go: the audit trail (action ``security.<rule>``, so they
are tamper-evident and queryable like every other record), a Prometheus counter,
and an optional webhook.

Raising an alarm never delays or fails the request that triggered it: events are
dispatched in a background task. The webhook body is JSON with identifiers only;
with ``security_webhook_secret`` set it carries ``X-Strongroom-Signature:
sha256=<hex HMAC of the body>`` so the receiver can authenticate it.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import Sequence
from typing import Protocol

import httpx
import structlog

from strongroom.audit.actions import SECURITY_PREFIX, SecurityAction, SecurityRule
from strongroom.audit.events import SecurityEvent, SecurityMonitor
from strongroom.audit.models import AuditEvent, Outcome
from strongroom.context import Actor
from strongroom.observability.metrics import SECURITY_EVENTS

log = structlog.get_logger("strongroom.security")


class Appender(Protocol):
    async def append(self, event: AuditEvent) -> None: ...


class SecurityAlerts:
    def __init__(
        self,
        monitor: SecurityMonitor,
        webhook_url: str | None = None,
        webhook_secret: str | None = None,
        attempts: int = 3,
    ) -> None:
        self.monitor = monitor
        self._url = webhook_url
        self._secret = webhook_secret.encode() if webhook_secret else None
        self._attempts = attempts
        self._audit: Appender | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def attach(self, audit: Appender) -> None:
        self._audit = audit

    def observe(self, event: AuditEvent) -> None:
        """Called for every audit event as it is written (never for our own records)."""
        if event.action.startswith(SECURITY_PREFIX):
            return
        raised = self.monitor.observe(event)
        if raised:
            task = asyncio.get_running_loop().create_task(self._dispatch(raised))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _dispatch(self, events: Sequence[SecurityEvent]) -> None:
        for e in events:
            SECURITY_EVENTS.labels(e.rule, e.severity).inc()
            log.warning("security_event", rule=e.rule, severity=e.severity, tenant=e.tenant)
            if self._audit is not None:
                try:
                    await self._audit.append(_as_audit(e))
                except Exception as exc:  # the alarm still goes to metrics and webhook
                    log.error("security_event_not_recorded", error_type=type(exc).__name__)
            if self._url:
                await self._post(e)

    async def _post(self, e: SecurityEvent) -> None:
        assert self._url is not None
        body = json.dumps(
            {
                "rule": e.rule,
                "severity": e.severity,
                "subject": e.subject,
                "tenant": e.tenant,
                "detail": e.detail,
            },
            sort_keys=True,
        ).encode()
        headers = {"Content-Type": "application/json"}
        if self._secret:
            mac = hmac.new(self._secret, body, hashlib.sha256).hexdigest()
            headers["X-Strongroom-Signature"] = f"sha256={mac}"
        async with httpx.AsyncClient(timeout=2.0) as client:
            for attempt in range(self._attempts):
                try:
                    r = await client.post(self._url, content=body, headers=headers)
                    if r.status_code < 500:
                        return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.2 * 2**attempt)
        log.error("security_webhook_failed", rule=e.rule)

    async def drain(self) -> None:
        """Wait for dispatches in flight (tests, shutdown)."""
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)


def _as_audit(e: SecurityEvent) -> AuditEvent:
    actor = Actor("system:security-monitor", e.tenant, str(e.detail.get("request_id", "-")), None)
    detail = {"severity": e.severity, "facts": e.detail.get("facts", [])}
    # key.deletion names the user whose key it was: sensitive when userIds are.
    kind = "userId" if e.rule is SecurityRule.KEY_DELETION else None
    action = SecurityAction.of(e.rule)
    return AuditEvent(actor, action, Outcome.SUCCESS, e.subject, detail=detail, target_kind=kind)
