"""Issue #15 item 7: with userIds marked sensitive, a key-deletion security event
carries the user's keyed tag, never the userId, in its webhook body, in the
security-events API and in its audit record; every event carries a P1-P4 severity."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.api.conftest import App
from tests.webhooks import HookReceiver, security_hook, serving

CANARY = "canary-user-7f3a91"


@pytest.fixture
def sink() -> Iterator[HookReceiver]:
    yield from serving(HookReceiver())


@pytest.fixture
def settings_overrides(sink: HookReceiver) -> dict[str, Any]:
    return {
        **security_hook(sink),
        "audit_sensitive_identifiers": ["userId", "clientAddr"],
    }


async def test_key_deletion_event_never_carries_a_sensitive_user_id(
    app: App, sink: HookReceiver
) -> None:
    await app.create_key(CANARY)
    r = await app.post(f"/api/v1/keys/{CANARY}/deletion", {})
    assert r.status_code == 202
    await app.services.alerts.drain()

    hasher = app.services.audit.hasher
    assert hasher is not None
    tag = hasher.tag(CANARY)
    bodies = [json.loads(b) for b in sink.bodies]
    deletion = [b for b in bodies if b["rule"] == "key.deletion"]
    assert len(deletion) == 1
    assert deletion[0]["subject"] == tag
    assert deletion[0]["severity"] == "P3"
    assert deletion[0]["type"] == "security.key.deletion"
    assert all(CANARY.encode() not in b for b in sink.bodies)

    events = (await app.get("/api/v1/security-events")).json()["events"]
    api = [e for e in events if e["rule"] == "key.deletion"]
    assert [(e["subject"], e["severity"]) for e in api] == [(tag, "P3")]
    assert CANARY not in json.dumps(events)
    # an auditor who knows the userId still finds the event (docs/security-events.md)
    r = await app.get(f"/api/v1/audit/records?action=security.key.deletion&target={CANARY}")
    assert [(x["target"], x["detail"]["severity"]) for x in r.json()["records"]] == [(tag, "P3")]
    # the client address is sensitive too: no body carries it in clear
    assert all(b"203.0.113.7" not in b for b in sink.bodies)


async def test_address_events_carry_the_tag_when_addresses_are_sensitive(
    app: App, sink: HookReceiver
) -> None:
    bad = app.admin_key[:-3] + ("aaa" if not app.admin_key.endswith("aaa") else "bbb")
    for _ in range(6):
        r = await app.post("/api/v1/encrypt", {"userId": "x", "data": []}, key=bad)
        assert r.status_code == 401
    await app.services.alerts.drain()

    hasher = app.services.audit.hasher
    assert hasher is not None
    tag = hasher.tag("203.0.113.7")
    bodies = [json.loads(b) for b in sink.bodies]
    burst = [b for b in bodies if b["rule"] == "auth.failures"]
    assert [(b["subject"], b["severity"]) for b in burst] == [(f"addr:{tag}", "P3")]
    events = (await app.get("/api/v1/security-events")).json()["events"]
    assert [e["subject"] for e in events if e["rule"] == "auth.failures"] == [f"addr:{tag}"]
    assert "203.0.113.7" not in json.dumps(events)
    assert all(b"203.0.113.7" not in b for b in sink.bodies)
