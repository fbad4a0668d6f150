"""Rotation history: a renewal links renewedFrom / renewedBy (detected by subject and
SANs, or named explicitly), never revokes or changes the old certificate, and a key
kept across a renewal is flagged (field, audit detail, security event)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from sqlalchemy import select

from strongroom.store.models import AuditRecord, Certificate
from tests.api.certificate_helpers import EPOCH, import_pem, leaf, make_ca, pem
from tests.api.conftest import App
from tests.webhooks import HookReceiver, security_hook, serving


@pytest.fixture
def sink() -> Iterator[HookReceiver]:
    yield from serving(HookReceiver())


@pytest.fixture
def settings_overrides(sink: HookReceiver) -> dict[str, Any]:
    return security_hook(sink)


def fp(cert: Any) -> str:
    return str(cert.fingerprint(hashes.SHA256()).hex())


async def test_detected_renewal_with_a_new_key(app: App) -> None:
    ca = make_ca("Renew CA")
    sans = ["svc.example.com", "alt.example.com"]
    v1, _ = leaf(ca, "svc.example.com", sans, EPOCH, EPOCH + timedelta(days=90))
    v2, _ = leaf(ca, "svc.example.com", list(reversed(sans)), EPOCH, EPOCH + timedelta(days=180))
    other, _ = leaf(ca, "svc.example.com", ["svc.example.com"], EPOCH, EPOCH + timedelta(days=200))
    await import_pem(app, pem(v1))
    async with app.services.db.read() as s:
        before = (
            await s.execute(select(Certificate).where(Certificate.fingerprint == fp(v1)))
        ).scalar_one()
    out = await import_pem(app, pem(v2))
    assert out["certificates"][0]["renewedFrom"] == fp(v1)
    assert out["certificates"][0]["keyReused"] is False
    old = (await app.get(f"/api/v1/certificates/{fp(v1)}")).json()
    assert old["renewedBy"] == fp(v2) and old["revokedAt"] is None
    # The old version's row is unchanged (immutable): only the new one links back.
    async with app.services.db.read() as s:
        after = (
            await s.execute(select(Certificate).where(Certificate.fingerprint == fp(v1)))
        ).scalar_one()
    assert (after.der, after.renewed_from_id, after.revoked_at) == (before.der, None, None)
    # Other SANs: the same subject, but not a renewal.
    assert (await import_pem(app, pem(other)))["certificates"][0]["renewedFrom"] is None


async def test_explicit_renewal_with_the_same_key_is_flagged(app: App, sink: HookReceiver) -> None:
    ca = make_ca("Reuse CA")
    v1, key = leaf(ca, "a.example.com", ["a.example.com"], EPOCH, EPOCH + timedelta(days=90))
    v2, _ = leaf(ca, "b.example.com", ["b.example.com"], EPOCH, EPOCH + timedelta(days=90), key)
    await import_pem(app, pem(v1))
    out = await import_pem(app, pem(v2), renews=fp(v1))
    assert out["certificates"][0]["renewedFrom"] == fp(v1)
    assert out["certificates"][0]["keyReused"] is True
    await app.services.alerts.drain()
    rules = [json.loads(b)["rule"] for b in sink.bodies]
    assert "certificate.key_reused" in rules
    async with app.services.db.read() as s:
        q = select(AuditRecord.detail).where(
            AuditRecord.action == "certificate.import", AuditRecord.target == fp(v2)
        )
        [detail] = (await s.execute(q)).scalars().all()
    assert detail is not None
    assert detail["renewedFrom"] == fp(v1) and detail["keyReused"] is True


async def test_lineage_is_a_line(app: App) -> None:
    ca = make_ca("Line CA")
    v1, _ = leaf(ca, "l.example.com", [], EPOCH, EPOCH + timedelta(days=90))
    v2, _ = leaf(ca, "l.example.com", [], EPOCH, EPOCH + timedelta(days=180))
    v3, _ = leaf(ca, "x.example.com", [], EPOCH, EPOCH + timedelta(days=180))
    await import_pem(app, pem(v1))
    await import_pem(app, pem(v2))  # detected: renews v1
    r = await app.post("/api/v1/certificates", {"pem": pem(v3), "renews": fp(v1)})
    assert (r.status_code, r.json()["error"]["code"]) == (409, "PKI006")
    r = await app.post("/api/v1/certificates", {"pem": pem(v3), "renews": "ab" * 32})
    assert (r.status_code, r.json()["error"]["code"]) == (404, "PKI004")
    # Neither refused import stored anything.
    r = await app.get(f"/api/v1/certificates/{fp(v3)}")
    assert r.status_code == 404
