"""Expiry monitoring with an injected clock: one alert per (certificate, threshold),
as a security event (webhook, audit record, metric), the tightest threshold only when
several are crossed at once, expired certificates, issuers that expire before the
leaf, lifetime fractions; renewed and revoked certificates are quiet."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import select

from strongroom.context import Actor
from strongroom.store.models import AuditRecord
from tests.api.certificate_helpers import EPOCH, leaf, make_ca, pem
from tests.api.conftest import App
from tests.webhooks import HookReceiver, security_hook, serving

ACTOR = Actor("test", "default", "test-import", None)
END = EPOCH + timedelta(days=60)


@pytest.fixture
def sink() -> Iterator[HookReceiver]:
    yield from serving(HookReceiver())


@pytest.fixture
def settings_overrides(sink: HookReceiver) -> dict[str, Any]:
    return {**security_hook(sink), "pki_expiry_fractions": [0.5]}


def alerts(sink: HookReceiver) -> list[tuple[str, str, str]]:
    out = []
    for body in sink.bodies:
        event = json.loads(body)
        if event["rule"].startswith("certificate."):
            out.append((event["subject"], event["rule"], event["detail"]["facts"][0]))
    return out


async def _import(app: App, *certs: Any) -> list[str]:
    done = await app.services.certificates.import_bundle(
        ACTOR, "pem", "".join(pem(c) for c in certs).encode()
    )
    return [c.fingerprint for c in done.certificates]


async def test_one_alert_per_threshold(app: App, sink: HookReceiver) -> None:
    ca = make_ca("Monitor CA", not_after=EPOCH + timedelta(days=3650))
    cert, _ = leaf(ca, "m.example.com", ["m.example.com"], EPOCH - timedelta(days=30), END)
    [fp] = await _import(app, cert)
    monitor = app.services.certificate_monitor
    # A 90-day certificate: half its lifetime is 45 days (pki_expiry_fractions).
    steps = [(50, []), (44, ["fraction:0.5"]), (31, []), (29.5, ["days:30"]), (29, [])]
    steps += [(13.5, ["days:14"]), (6.5, ["days:7"]), (6, []), (0.5, ["days:1"])]
    steps += [(-1, ["expired"]), (-2, [])]
    for days_left, expected in steps:
        before = len(alerts(sink))
        for _ in range(2):  # a second pass at the same instant raises nothing
            await monitor.run_once(END - timedelta(days=days_left))
        assert [f for _, _, f in alerts(sink)[before:]] == expected, days_left
    got = [(r, f) for s, r, f in alerts(sink) if s == fp]
    assert got == [
        ("certificate.expiring", "fraction:0.5"),
        ("certificate.expiring", "days:30"),
        ("certificate.expiring", "days:14"),
        ("certificate.expiring", "days:7"),
        ("certificate.expiring", "days:1"),
        ("certificate.expired", "expired"),
    ]
    async with app.services.db.read() as s:
        q = select(AuditRecord.action).where(AuditRecord.target == fp)
        actions = (await s.execute(q)).scalars().all()
    assert sorted(a for a in actions if a.startswith("security.")) == sorted(
        ["security.certificate.expiring"] * 5 + ["security.certificate.expired"]
    )
    gauge = REGISTRY.get_sample_value(
        "strongroom_certificate_not_after_timestamp_seconds", {"fingerprint": fp}
    )
    assert gauge == END.timestamp()


async def test_only_the_tightest_of_several_crossed_thresholds(
    app: App, sink: HookReceiver
) -> None:
    ca = make_ca("Late CA")
    cert, _ = leaf(ca, "late.example.com", [], END - timedelta(days=100), END)
    [fp] = await _import(app, cert)
    await app.services.certificate_monitor.run_once(END - timedelta(days=5))
    await app.services.certificate_monitor.run_once(END - timedelta(days=4))
    # 30, 14, 7 days and half the lifetime all crossed: one alert, the tightest.
    assert [f for s, _, f in alerts(sink) if s == fp] == ["days:7"]


async def test_fraction_of_lifetime(app: App, sink: HookReceiver) -> None:
    ca = make_ca("Fraction CA")
    cert, _ = leaf(ca, "f.example.com", [], END - timedelta(days=200), END)
    [fp] = await _import(app, cert)
    await app.services.certificate_monitor.run_once(END - timedelta(days=101))
    await app.services.certificate_monitor.run_once(END - timedelta(days=99))
    assert [f for s, _, f in alerts(sink) if s == fp] == ["fraction:0.5"]


async def test_an_issuer_expiring_before_the_leaf(app: App, sink: HookReceiver) -> None:
    root = make_ca("Long Root")
    short = make_ca("Short Intermediate", root, not_after=EPOCH + timedelta(days=30))
    cert, _ = leaf(short, "c.example.com", [], EPOCH - timedelta(days=1), END)
    fps = await _import(app, cert, short.cert, root.cert)
    for _ in range(3):
        await app.services.certificate_monitor.run_once(EPOCH)
    assert [(r, f) for s, r, f in alerts(sink) if s == fps[0]] == [
        ("certificate.chain_expires_first", fps[1])
    ]


async def test_renewed_and_revoked_certificates_are_quiet(app: App, sink: HookReceiver) -> None:
    ca = make_ca("Quiet CA")
    old, _ = leaf(ca, "q.example.com", ["q.example.com"], EPOCH - timedelta(days=80), END)
    new, _ = leaf(ca, "q.example.com", ["q.example.com"], EPOCH, END + timedelta(days=90))
    gone, _ = leaf(ca, "r.example.com", [], EPOCH - timedelta(days=80), END)
    [old_fp] = await _import(app, old)
    await _import(app, new)
    [gone_fp] = await _import(app, gone)
    await app.services.certificates.revoke(ACTOR, gone_fp, "superseded")
    await app.services.certificate_monitor.run_once(END + timedelta(days=1))
    subjects = {s for s, _, _ in alerts(sink)}
    assert old_fp not in subjects and gone_fp not in subjects


async def test_the_cluster_job_runs_the_monitor(app: App, sink: HookReceiver) -> None:
    """The monitor is the cluster job ``certificates.expiry`` (services/jobs.py), which
    every replica with the scheduler on offers to run; one pass of the runner alerts.
    (Driven through the runner, not a second app's lifespan in this process: that
    variant stalled now and then inside a long test session; the three-replica test
    runs the job runner in real ``serve`` processes.)"""
    ca = make_ca("Lifespan CA")
    ended = datetime.now(UTC) - timedelta(days=1)
    cert, _ = leaf(ca, "gone.example.com", [], ended - timedelta(days=90), ended)
    [fp] = await _import(app, cert)
    ran = await app.services.jobs.run_due()
    assert ran.get("certificates.expiry", 0) >= 1, ran
    for _ in range(100):
        if any(s == fp for s, _, _ in alerts(sink)):
            break
        await asyncio.sleep(0.05)
    assert [(r, f) for s, r, f in alerts(sink) if s == fp] == [("certificate.expired", "expired")]
