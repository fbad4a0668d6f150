"""A scripted burst of bad API keys and a scripted mass decrypt across many users
each raise the right security event: in the API, in the metrics, and at a webhook
received by a real HTTP server on 127.0.0.1 (signature checked)."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.api.conftest import App
from tests.api.test_metrics import sample
from tests.webhooks import HookReceiver, serving

SECRET = "webhook-secret-for-tests"


class Receiver(HookReceiver):
    @property
    def received(self) -> list[tuple[dict[str, Any], str]]:
        """(body, whether its legacy X-Strongroom-Signature checks) per delivery."""
        out = []
        for headers, body in self.posts:
            mac = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
            ok = headers.get("X-Strongroom-Signature") == f"sha256={mac}"
            out.append((json.loads(body), "signed" if ok else "bad-signature"))
        return out

    def rules(self) -> list[str]:
        return [body["rule"] for body, _ in self.received]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    yield from serving(Receiver())


@pytest.fixture
def settings_overrides(receiver: Receiver) -> dict[str, Any]:
    return {
        "security_webhook_url": receiver.url,
        "security_webhook_secret": SECRET,
        "security_bulk_min_users": 10,
    }


async def test_bad_key_burst_raises_auth_failures(app: App, receiver: Receiver) -> None:
    metrics_before = (await app.get("/metrics")).text
    bad = app.admin_key[:-3] + ("aaa" if not app.admin_key.endswith("aaa") else "bbb")
    for _ in range(6):
        r = await app.post("/api/v1/encrypt", {"userId": "x", "data": []}, key=bad)
        assert r.status_code == 401
    await app.services.alerts.drain()

    events = (await app.get("/api/v1/security-events")).json()["events"]
    burst = [e for e in events if e["rule"] == "auth.failures"]
    assert [e["subject"] for e in burst] == ["addr:203.0.113.7"]
    assert ("auth.failures", "signed") in [(b["rule"], s) for b, s in receiver.received]
    after = (await app.get("/metrics")).text
    key = {"rule": "auth.failures", "severity": "P3"}
    assert (
        sample(after, "strongroom_security_events_total", **key)
        - sample(metrics_before, "strongroom_security_events_total", **key)
        == 1
    )
    assert bad not in json.dumps(events) + json.dumps(receiver.received) + after


async def test_mass_decrypt_across_users_raises_bulk(app: App, receiver: Receiver) -> None:
    _, reader = await app.services.access.create("default", ["decrypt-only"], "support tool")
    texts = {}
    for i in range(12):
        await app.create_key(f"victim-{i}")
        texts[i] = await app.encrypt(f"victim-{i}", [f"secret {i}"])
    for i in range(12):
        r = await app.post("/api/v1/decrypt", {"userId": f"victim-{i}", "data": texts[i]}, reader)
        assert r.status_code == 200
    await app.services.alerts.drain()

    events = (await app.get("/api/v1/security-events")).json()["events"]
    bulk = [e for e in events if e["rule"] == "decrypt.bulk"]
    assert len(bulk) == 1 and bulk[0]["severity"] == "P1"
    assert bulk[0]["subject"] == reader.split("_")[2]  # the key id, never the secret
    assert "decrypt.bulk" in receiver.rules()
    assert all(status == "signed" for _, status in receiver.received)
    assert "secret 3" not in json.dumps(events) + json.dumps(receiver.received)


async def test_writing_for_many_users_raises_users_bulk(app: App, receiver: Receiver) -> None:
    for i in range(12):
        await app.create_key(f"member-{i}")
    _, writer = await app.services.access.create("default", ["encrypt-only"], "importer")
    for i in range(12):
        body = {"userId": f"member-{i}", "data": ["imported"]}
        assert (await app.post("/api/v1/encrypt", body, writer)).status_code == 200
    await app.services.alerts.drain()

    wide = [b for b, _ in receiver.received if b["rule"] == "users.bulk"]
    subjects = {b["subject"] for b in wide}
    assert reader_id(writer) in subjects  # the admin who created the keys may be too
    assert {b["severity"] for b in wide} == {"P3"}
    assert writer not in json.dumps(wide) and "imported" not in json.dumps(wide)


def reader_id(key: str) -> str:
    return key.split("_")[2]  # the key id, never the secret


async def test_security_events_need_audit_read(app: App) -> None:
    _, narrow = await app.services.access.create("default", ["encrypt-only"])
    r = await app.client.get("/api/v1/security-events", headers={"X-API-Key": narrow})
    assert r.status_code == 403
