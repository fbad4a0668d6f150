"""Reminders before a stored key expires or falls due for rotation
(credentials/reminders.py): one security event per (key, deadline, threshold),
however many replicas run the pass; a new deadline (rotation) re-arms them."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from strongroom.services.container import build_services
from tests.api.access_helpers import audit_rows
from tests.api.api_key_helpers import keys_url, project, req, stored
from tests.api.conftest import App
from tests.webhooks import HookReceiver, security_hook, serving


@pytest.fixture
def sink() -> Iterator[HookReceiver]:
    yield from serving(HookReceiver())


@pytest.fixture
def settings_overrides(sink: HookReceiver) -> dict[str, Any]:
    return security_hook(sink)


def _sent(sink: HookReceiver, rule: str) -> list[dict[str, Any]]:
    return [b for b in (json.loads(x) for x in sink.bodies) if b["rule"] == rule]


async def test_expiry_once_per_threshold_across_three_replicas(
    app: App, sink: HookReceiver
) -> None:
    expires = datetime.now(UTC) + timedelta(days=20)
    await project(app, "p")
    await stored(app, "p", "k", "sk-reminded-1", expiresAt=expires.isoformat())
    others = [build_services(app.settings) for _ in range(2)]
    for o in others:
        await o.start()
    replicas = [app.services, *others]
    try:
        # 15 days left (none), 13 (14d), 5 (none new), 2 (3d), 0.5 (1d), 0.4 (none).
        for days_left in (15, 13, 5, 2, 0.5, 0.4):
            at = expires - timedelta(days=days_left)
            raised = await asyncio.gather(*(s.stored_keys.reminders.run_once(at) for s in replicas))
            assert sum(raised) == (1 if days_left in (13, 2, 0.5) else 0), (days_left, raised)
        for s in replicas:
            await s.alerts.drain()
    finally:
        for o in others:
            await o.close()
    sent = _sent(sink, "api_key.expiring")
    days = sorted(next(f for f in b["detail"]["facts"] if f.startswith("days=")) for b in sent)
    assert days == ["days=1", "days=14", "days=3"]
    assert all(b["subject"] == "p/k" for b in sent)
    assert len(await audit_rows(app, "security.api_key.expiring")) == 3


async def test_rotation_due_and_rearmed_by_a_rotation(app: App, sink: HookReceiver) -> None:
    await project(app, "p")
    await stored(app, "p", "k", "sk-reminded-2", rotateAfterDays=30)
    reminders = app.services.stored_keys.reminders
    late = datetime.now(UTC) + timedelta(days=29)  # one day before due: 14, 3, 1 passed
    assert await reminders.run_once(late) == 1
    assert await reminders.run_once(late) == 0
    r = await req(app, "POST", keys_url("p", "k") + "/rotate", json={"value": "sk-rotated-3"})
    assert r.status_code == 200
    soon = datetime.now(UTC) + timedelta(days=10)
    assert await reminders.run_once(soon) == 0  # the new deadline is 30 days out
    assert await reminders.run_once(soon + timedelta(days=7)) == 1  # 13 days before it
    await app.services.alerts.drain()
    sent = _sent(sink, "api_key.rotation_due")
    assert sorted(b["detail"]["facts"][0] for b in sent) == ["days=1", "days=14"]
