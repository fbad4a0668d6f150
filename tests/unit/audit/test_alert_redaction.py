"""Security events leave with sensitive identifiers as keyed tags (audit/redact.py):
the same redaction for the audit record, the API and the webhook body."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

from strongroom.audit.actions import KeyAction, SecurityRule
from strongroom.audit.alerts import REDACTED, SecurityAlerts, payload
from strongroom.audit.events import SEVERITY, SecurityMonitor, Severity
from strongroom.audit.models import AuditEvent, Outcome
from strongroom.audit.redact import AuditHasher
from strongroom.context import Actor


class Sink:
    def __init__(self, hasher: AuditHasher | None) -> None:
        self.hasher = hasher
        self.records: list[AuditEvent] = []

    async def append(self, event: AuditEvent) -> None:
        self.records.append(event)


def success(principal: str, addr: str, action: KeyAction, user: str) -> AuditEvent:
    return AuditEvent(Actor(principal, "default", "rid", addr), action, Outcome.SUCCESS, user)


def test_new_address_facts_and_deleted_user_are_tagged() -> None:
    hasher = AuditHasher(bytes(range(32)), ["userId", "clientAddr"])
    alerts = SecurityAlerts(SecurityMonitor(), sensitive=["userId", "clientAddr"])
    alerts.attach(Sink(hasher))
    m = alerts.monitor
    m.observe(success("k1", "10.0.0.1", KeyAction.ENCRYPT, "alice"))
    moved = m.observe(success("k1", "10.9.9.9", KeyAction.ENCRYPT, "alice"))
    deleted = m.observe(success("k1", "10.0.0.1", KeyAction.DESTROY, "alice@example.com"))
    out = [alerts.redact(e) for e in moved + deleted]
    assert [(e.rule, e.severity) for e in out] == [
        ("auth.new_address", Severity.P4),
        ("key.deletion", Severity.P3),
    ]
    assert out[0].detail["facts"] == [hasher.tag("10.9.9.9")]
    assert out[1].subject == "hmac:26bd9eb5362af752553f4e7a7ead737c"  # README vector
    text = b"".join(payload(e) for e in out).decode()
    assert "10.9.9.9" not in text and "alice@example.com" not in text
    assert json.loads(payload(out[1]))["severityLabel"] == "medium"


def test_without_a_lookup_key_sensitive_values_are_withheld() -> None:
    alerts = SecurityAlerts(SecurityMonitor(), sensitive=["userId"])
    alerts.attach(Sink(None))
    [e] = alerts.monitor.observe(success("k1", "10.0.0.1", KeyAction.DESTROY, "bob"))
    assert alerts.redact(e).subject == REDACTED


def test_not_sensitive_means_in_clear() -> None:
    alerts = SecurityAlerts(SecurityMonitor())
    alerts.attach(Sink(AuditHasher(bytes(32))))
    [e] = alerts.monitor.observe(success("k1", "10.0.0.1", KeyAction.DESTROY, "bob"))
    assert alerts.redact(e).subject == "bob"


def test_every_rule_has_a_severity() -> None:
    assert set(SEVERITY) == set(SecurityRule)


async def test_a_slow_webhook_never_delays_the_request() -> None:
    class Slow(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            time.sleep(0.5)
            self.send_response(204)
            self.end_headers()

        def log_message(self, *_: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Slow)
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/hook"
        alerts = SecurityAlerts(SecurityMonitor(), url, "whsec_" + "A" * 24)
        sink = Sink(AuditHasher(bytes(32)))
        alerts.attach(sink)
        started = time.monotonic()
        alerts.observe(success("k1", "10.0.0.1", KeyAction.DESTROY, "bob"))
        assert time.monotonic() - started < 0.05  # dispatched in the background
        await asyncio.sleep(0)
        await alerts.close()
        assert time.monotonic() - started >= 0.5  # close waited for the delivery
        assert [str(r.action) for r in sink.records] == ["security.key.deletion"]
        assert alerts.webhook is not None and alerts.webhook._client is None
    finally:
        server.shutdown()
        server.server_close()
