"""Audit records for every key operation, fail-closed auditing, and canary leak checks."""

from __future__ import annotations

import logging

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import select, text

from strongroom.store.db import Database
from strongroom.store.models import AuditRecord, KeyMaterial
from tests.api.conftest import App, as_owner
from tests.api.state import key_state

CANARY = "CANARY-7f3a9c-plaintext"
CANARY_CTX = "CANARY-ctx-51be"


async def audit_rows(app: App) -> list[AuditRecord]:
    async with app.services.db.read() as s:
        return list((await s.execute(select(AuditRecord).order_by(AuditRecord.id))).scalars())


async def test_key_operations_are_audited(app: App) -> None:
    await app.create_key("au")
    enc = await app.encrypt("au", ["a", "b", "c"])
    await app.decrypt("au", enc[:2])
    await app.post("/api/v1/rotate", {"userId": "au", "data": enc, "reason": "compromise"})
    await app.post("/api/v1/rewrap", {"userId": "au", "data": enc})
    await app.client.patch(
        "/api/v1/keys/au/policy", json={"rotationPeriodDays": 10}, headers=app.headers
    )
    await app.post("/api/v1/keys/au/deletion", {})
    await app.client.post(
        "/api/v1/encrypt",
        json={"userId": "au", "data": ["x"]},
        headers={"X-API-Key": "srk_live_bogus"},
    )
    rows = await audit_rows(app)
    by_action = {(r.action, r.outcome): r for r in rows}
    assert by_action[("key.encrypt", "success")].item_count == 3
    assert by_action[("key.decrypt", "success")].item_count == 2
    assert by_action[("key.rotate", "success")].detail == {"version": 2, "reason": "compromise"}
    for action in ("key.create", "key.rewrap", "key.policy", "key.delete.schedule"):
        assert (action, "success") in by_action, action
    failed = by_action[("auth.api_key", "failure")]
    assert failed.detail == {"reason": "malformed"} and failed.client_addr == "203.0.113.7"
    enc_row = by_action[("key.encrypt", "success")]
    assert enc_row.target == "au" and enc_row.tenant_id == "default"
    assert enc_row.request_id and enc_row.actor and enc_row.client_addr == "203.0.113.7"


async def test_request_id_is_echoed_and_recorded(app: App) -> None:
    await app.create_key("rid")
    r = await app.client.post(
        "/api/v1/encrypt",
        json={"userId": "rid", "data": ["x"]},
        headers={**app.headers, "X-Request-Id": "req-12345"},
    )
    assert r.headers["x-request-id"] == "req-12345"
    rows = [r for r in await audit_rows(app) if r.action == "key.encrypt"]
    assert rows[-1].request_id == "req-12345"


def items(operation: str, outcome: str) -> float:
    labels = {"operation": operation, "outcome": outcome}
    return REGISTRY.get_sample_value("strongroom_crypto_items_total", labels) or 0.0


async def rename_audit_table(app: App, old: str, new: str) -> None:
    """As the schema owner: the serving role may not alter tables (store/grants.py)."""
    owner = Database(as_owner(app.settings.database.url))
    try:
        async with owner.transaction() as s:
            await s.execute(text(f"ALTER TABLE {old} RENAME TO {new}"))
    finally:
        await owner.dispose()


async def test_audit_failure_refuses_operations(app: App) -> None:
    await app.create_key("fc")
    enc = await app.encrypt("fc", ["kept"])
    before = await key_state(app)
    ops = [(op, o) for op in ("key.encrypt", "key.decrypt") for o in ("success", "failure")]
    counted = {k: items(*k) for k in ops}
    await rename_audit_table(app, "audit_records", "audit_records_gone")
    for path, data in (
        ("/api/v1/encrypt", ["x"]),
        ("/api/v1/decrypt", enc),
        ("/api/v1/rotate", enc),
    ):
        r = await app.post(path, {"userId": "fc", "data": data})
        assert r.status_code == 503 and r.json()["error"]["code"] == "SYS001", (path, r.text)
        assert "decryptedData" not in r.json() and "encryptedData" not in r.json()
    assert await key_state(app) == before
    # The refused operations' items are counted as failed, not as done.
    assert {k: items(*k) - counted[k] for k in ops} == {
        ("key.encrypt", "success"): 0,
        ("key.encrypt", "failure"): 1,
        ("key.decrypt", "success"): 0,
        ("key.decrypt", "failure"): 1,
    }
    await rename_audit_table(app, "audit_records_gone", "audit_records")
    assert await app.decrypt("fc", enc) == ["kept"]


async def test_no_secrets_in_logs_audit_or_errors(
    app: App, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    await app.create_key("leak")
    enc = await app.encrypt("leak", [CANARY], context=CANARY_CTX)
    bodies: list[str] = []
    for body in (
        {"userId": "leak", "data": enc, "context": "wrong-" + CANARY_CTX},
        {"userId": "leak", "data": [CANARY]},
        {"userId": "leak", "data": [CANARY, 5]},
        {"userId": "nobody", "data": enc},
    ):
        r = await app.post("/api/v1/decrypt", body)
        assert r.status_code in (400, 404)
        bodies.append(r.text)
    r = await app.client.post(
        "/api/v1/encrypt",
        content=b'{"userId":"leak","data":["' + CANARY.encode() + b'", ]',
        headers={**app.headers, "content-type": "application/json"},
    )
    bodies.append(r.text)
    r = await app.client.post(
        "/api/v1/encrypt",
        json={"userId": "leak", "data": [CANARY]},
        headers={"X-API-Key": app.admin_key[:-1] + "q"},
    )
    bodies.append(r.text)
    assert await app.decrypt("leak", enc, context=CANARY_CTX) == [CANARY]

    async with app.services.db.read() as s:
        material = [m.wrapped for m in (await s.execute(select(KeyMaterial))).scalars()]
    private = await app.services.kms.unwrap(
        __import__("strongroom.kms.interfaces", fromlist=["Wrapped"]).Wrapped(
            (await _material_ref(app)), material[0]
        ),
        {
            "purpose": "user-key",
            "tenant": "default",
            "user": "leak",
            "version": "1",
            "type": "x25519-hpke",
        },
    )
    out, err = capfd.readouterr()
    logs = out + err + caplog.text
    audit = repr([(r.actor, r.target, r.detail, r.action) for r in await audit_rows(app)])
    secrets = [
        CANARY,
        CANARY_CTX,
        app.admin_key,
        app.admin_key.split("_")[3],
        private.hex(),
        enc[0],
    ]
    for where, content in (("logs", logs), ("audit", audit), ("errors", "".join(bodies))):
        for secret in secrets:
            assert secret not in content, (where, secret[:12])


async def _material_ref(app: App) -> str:
    async with app.services.db.read() as s:
        return str((await s.execute(select(KeyMaterial.kms_key_ref))).scalars().first())
