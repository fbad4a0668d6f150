"""Issue #15 item 8: rate-limit violations raise the ``rate.limited`` security event,
once per subject and quiet period however many requests are refused (not one per
429), delivered to a real webhook receiver with its P3 severity and no secret."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.api.conftest import App
from tests.webhooks import HookReceiver, security_hook, serving


@pytest.fixture
def sink() -> Iterator[HookReceiver]:
    yield from serving(HookReceiver())


@pytest.fixture
def settings_overrides(sink: HookReceiver) -> dict[str, Any]:
    return {
        **security_hook(sink),
        # Only the narrow role is throttled: the admin key sets up and reads freely.
        "rate_limit_role_requests_per_minute": {"decrypt-only": 3},
        "rate_limit_unauthenticated_per_minute": 3,
    }


def rate_events(sink: HookReceiver) -> list[dict[str, Any]]:
    bodies = [json.loads(b) for b in sink.bodies]
    return [b for b in bodies if b["rule"] == "rate.limited"]


async def test_a_principal_over_its_budget_raises_one_event(app: App, sink: HookReceiver) -> None:
    await app.create_key("alice")
    texts = await app.encrypt("alice", ["hello"])
    _, reader = await app.services.access.create("default", ["decrypt-only"], "batch job")
    statuses = [
        (await app.post("/api/v1/decrypt", {"userId": "alice", "data": texts}, reader)).status_code
        for _ in range(10)
    ]
    assert statuses == [200] * 3 + [429] * 7
    await app.services.alerts.drain()

    events = rate_events(sink)
    assert len(events) == 1  # seven 429s, one event for the quiet period
    e = events[0]
    assert (e["type"], e["severity"], e["severityLabel"]) == (
        "security.rate.limited",
        "P3",
        "medium",
    )
    assert e["subject"] == reader.split("_")[2]  # the key id, never the secret
    assert e["tenant"] == "default"
    assert e["detail"]["facts"] == ["req"]
    assert e["detail"]["trigger"] == "RATE001"
    wire = b"".join(sink.bodies)
    assert reader.encode() not in wire and b"hello" not in wire and texts[0].encode() not in wire

    # The same event is in the trail and the API, like every security event.
    listed = (await app.get("/api/v1/security-events")).json()["events"]
    assert [x["rule"] for x in listed].count("rate.limited") == 1


async def test_an_address_over_its_failure_budget_raises_one_event(
    app: App, sink: HookReceiver
) -> None:
    bad = app.admin_key[:-3] + ("aaa" if not app.admin_key.endswith("aaa") else "bbb")
    statuses = [
        (await app.post("/api/v1/encrypt", {"userId": "x", "data": []}, bad)).status_code
        for _ in range(8)
    ]
    assert statuses[:3] == [401] * 3 and set(statuses[3:]) == {429}
    await app.services.alerts.drain()

    events = rate_events(sink)
    assert len(events) == 1
    assert events[0]["subject"] == "addr:203.0.113.7"
    assert events[0]["detail"]["facts"] == ["addr"]
    assert bad.encode() not in b"".join(sink.bodies)


async def test_an_unthrottled_principal_raises_none(app: App, sink: HookReceiver) -> None:
    await app.create_key("bob")
    for _ in range(5):
        await app.encrypt("bob", ["x"])
    await app.services.alerts.drain()
    assert rate_events(sink) == []
