"""Expiry reminders (secrets/reminders.py): a ``secret.expiring`` security event once
per (version, threshold), however many replicas run the pass."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from strongroom.services.container import build_services
from tests.api.access_helpers import audit_rows
from tests.api.conftest import App
from tests.api.secret_helpers import put
from tests.webhooks import HookReceiver, security_hook, serving


@pytest.fixture
def sink() -> Iterator[HookReceiver]:
    yield from serving(HookReceiver())


@pytest.fixture
def settings_overrides(sink: HookReceiver) -> dict[str, Any]:
    return security_hook(sink)


def _reminders(sink: HookReceiver) -> list[dict[str, Any]]:
    out = [json.loads(b) for b in sink.bodies]
    return [b for b in out if b["rule"] == "secret.expiring"]


async def test_once_per_threshold_across_three_replicas(app: App, sink: HookReceiver) -> None:
    now = datetime.now(UTC)
    expires = now + timedelta(days=40)
    r = await put(app, "apps/billing/stripe", {"apiKey": "sk"}, expiresAt=expires.isoformat())
    assert r.status_code == 200, r.text
    # Two more replicas on the same database (the app's own services are the first).
    others = [build_services(app.settings) for _ in range(2)]
    for o in others:
        await o.start()
    replicas = [app.services, *others]
    try:
        # Walk the clock: 35 days left (none), 29 (30d), 20 (none new), 6 (7d), 0.5 (1d).
        for days_left in (35, 29, 20, 6, 0.5, 0.4):
            at = expires - timedelta(days=days_left)
            raised = await asyncio.gather(*(s.vault.reminders.run_once(at) for s in replicas))
            assert sum(raised) == (1 if days_left in (29, 6, 0.5) else 0), (days_left, raised)
        for s in replicas:
            await s.alerts.drain()
    finally:
        for o in others:
            await o.close()
    sent = _reminders(sink)
    facts = sorted(next(f for f in b["detail"]["facts"] if f.startswith("days=")) for b in sent)
    assert facts == ["days=1", "days=30", "days=7"]
    assert all(b["subject"] == "apps/billing/stripe" for b in sent)
    assert len(await audit_rows(app, "security.secret.expiring")) == 3


async def test_a_late_pass_sends_one_reminder_for_the_nearest_threshold(
    app: App, sink: HookReceiver
) -> None:
    expires = datetime.now(UTC) + timedelta(days=5)
    await put(app, "apps/x", {"k": "v"}, expiresAt=expires.isoformat())
    assert await app.services.vault.reminders.run_once(datetime.now(UTC)) == 1
    assert await app.services.vault.reminders.run_once(datetime.now(UTC)) == 0
    await app.services.alerts.drain()
    [body] = _reminders(sink)
    assert "days=7" in body["detail"]["facts"]
