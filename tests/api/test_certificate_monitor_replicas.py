"""Three service processes on one PostgreSQL run the expiry monitor over the same
injected instants at the same time: every (certificate, threshold) is alerted
exactly once (webhook and audit record), never twice, never lost."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from strongroom.context import Actor
from strongroom.store.models import AuditRecord
from tests.api.certificate_helpers import EPOCH, leaf, make_ca, pem
from tests.api.conftest import App
from tests.webhooks import HookReceiver, security_hook, serving

ROOT = Path(__file__).resolve().parents[2]
REPLICAS = 3
END = EPOCH + timedelta(days=60)
DAYS_LEFT = [29.5, 20, 13.5, 6.5, 3, 0.5, -1, -2]


@pytest.fixture
def sink() -> Iterator[HookReceiver]:
    yield from serving(HookReceiver())


@pytest.fixture
def settings_overrides(sink: HookReceiver) -> dict[str, Any]:
    return {**security_hook(sink)}


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"])
async def test_three_replicas_alert_once_per_threshold(
    app: App, sink: HookReceiver, tmp_path: Path, settings_overrides: dict[str, Any]
) -> None:
    # Five leaves under an intermediate that expires first (a chain alert each).
    root = make_ca("Replica Root")
    inter = make_ca("Replica Intermediate", root, not_after=EPOCH + timedelta(days=45))
    actor = Actor("test", "default", "test-import", None)
    leaves = []
    for i in range(5):
        cert, _ = leaf(inter, f"r{i}.example.com", [], EPOCH - timedelta(days=30), END)
        done = await app.services.certificates.import_bundle(
            actor, "pem", (pem(cert) + pem(inter.cert) + pem(root.cert)).encode()
        )
        leaves.append(done.leaf)
    inter_fp = done.certificates[1].fingerprint
    config = {
        "database_url": app.settings.database.url,
        "home": str(tmp_path),
        "overrides": {k: str(v) for k, v in settings_overrides.items()},
        "instants": [(END - timedelta(days=d)).isoformat() for d in DAYS_LEFT],
    }
    env = {**os.environ, "STRONGROOM_TEST_REPLICA": json.dumps(config)}
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.api.monitor_replica",
            cwd=ROOT,
            env=env,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )
        for _ in range(REPLICAS)
    ]
    try:
        for p in procs:
            assert p.stdout is not None
            assert (await p.stdout.readline()).strip() == b"ready"
        outs = await asyncio.wait_for(
            asyncio.gather(*(p.communicate(b"go\n") for p in procs)), timeout=120
        )  # all three start their passes together
        raised = [json.loads(out)["raised"] for out, _ in outs]
    finally:
        for p in procs:
            if p.returncode is None:
                p.kill()
                await p.wait()
    events = [json.loads(b) for b in sink.bodies]
    seen = Counter((e["subject"], e["rule"], e["detail"]["facts"][0]) for e in events)
    assert all(n == 1 for n in seen.values()), [k for k, n in seen.items() if n > 1]
    expected_per_leaf = {("certificate.expiring", f"days:{d}") for d in (30, 14, 7, 1)} | {
        ("certificate.expired", "expired"),
        ("certificate.chain_expires_first", inter_fp),
    }
    for fp in leaves:
        assert {(r, f) for s, r, f in seen if s == fp} == expected_per_leaf
    # The intermediate has its own thresholds (it expires at day 45); no alert twice.
    assert sum(raised) == len(events) == len(seen)
    async with app.services.db.read() as s:
        q = select(AuditRecord.target, AuditRecord.action).where(
            AuditRecord.action.like("security.certificate.%")
        )
        records = Counter((await s.execute(q)).all())
    assert sum(records.values()) == len(events)  # one audit record per alert
