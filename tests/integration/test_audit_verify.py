"""The stored trail, tampered with in each way on SQLite and PostgreSQL: ``audit
verify`` names the first bad record; an untouched trail (and 100,000 records)
verifies; PostgreSQL refuses UPDATE, DELETE and TRUNCATE on the audit tables."""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from alembic import command
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Connection, inspect, text
from sqlalchemy.ext.asyncio import create_async_engine

from strongroom.api.app import create_app
from strongroom.audit.actions import KeyAction
from strongroom.audit.checkpoints import SIG_TAG
from strongroom.audit.findings import VerifyReport
from strongroom.audit.models import AuditEvent, Outcome
from strongroom.config import Settings
from strongroom.context import Actor
from strongroom.services.container import build_services
from strongroom.store.db import Database
from strongroom.store.migrate import alembic_config
from strongroom.store.models import UserKeyHistory
from tests.integration.audit_trail import trail_settings
from tests.integration.test_cli import run_cli

ACTOR = Actor("ak_tester", "default", "req-1", "198.51.100.9")
LATER = datetime.now(UTC) + timedelta(hours=1)  # every writer long silent by then


def ev(i: int, action: KeyAction = KeyAction.ENCRYPT) -> AuditEvent:
    return AuditEvent(ACTOR, action, Outcome.SUCCESS, f"user-{i}", i, {"n": i})


@dataclass
class Trail:
    settings: Settings
    url: str
    postgres: bool

    async def sql(self, *statements: str, **params: Any) -> list[Any]:
        """Run statements as a database administrator would, past the triggers."""
        engine = create_async_engine(self.url)
        try:
            async with engine.begin() as conn:
                if self.postgres:
                    await conn.execute(text("SET LOCAL session_replication_role = replica"))
                out: list[Any] = []
                for st in statements:
                    res = await conn.execute(text(st), params)
                    out = list(res) if res.returns_rows else out
                return out
        finally:
            await engine.dispose()

    async def records(self) -> list[Any]:
        return await self.sql(
            "SELECT id, seq, action, segment_id, prev_hash, hash FROM audit_records "
            "WHERE segment_id IS NOT NULL ORDER BY segment_id, seq"
        )

    async def verify(self, **kw: Any) -> VerifyReport:
        svc = build_services(self.settings)
        try:
            return await svc.audit_queries.verify(**kw)
        finally:
            await svc.close()


@pytest.fixture(params=["sqlite", "postgres"])
async def trail(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Trail]:
    settings, _ = trail_settings(request, tmp_path)
    url = settings.database.url
    svc = build_services(settings)
    await svc.start(migrate=True)
    for i in range(10):
        await svc.audit.append(ev(i))
    await asyncio.gather(*(svc.audit.append(ev(i, KeyAction.DECRYPT)) for i in range(10, 30)))
    async with svc.db.transaction() as s:  # records inside the action's transaction
        for i in range(30, 33):
            svc.audit.record_in(s, ev(i, KeyAction.ROTATE))
    with pytest.raises(RuntimeError):  # rolled back after chaining: becomes a void record
        async with svc.db.transaction() as s:
            svc.audit.record_in(s, ev(33, KeyAction.CREATE))
            s.add(UserKeyHistory(key_id=1, version=1, event="x", actor="a", rotation_date=LATER))
            raise RuntimeError("abort")
    assert await svc.audit.checkpoint() == 1
    for i in range(40, 50):
        await svc.audit.append(ev(i))
    await svc.close()  # close record and a final checkpoint
    yield Trail(settings, url, request.param == "postgres")


def middle(rows: list[Any], action: str) -> Any:
    return [r for r in rows if r.action == action][2]


async def test_untouched_trail_verifies(trail: Trail) -> None:
    report = await trail.verify(now=LATER)
    assert report.ok, report
    assert report.records == 1 + 10 + 20 + 3 + 1 + 10 + 1 and report.segments == 1
    assert report.checkpoints == 2 and report.first_bad is None
    actions = [r.action for r in await trail.records()]
    assert actions.count("audit.void") == 1 and actions[-1] == "audit.close"


async def test_edited_field(trail: Trail) -> None:
    victim = middle(await trail.records(), "key.decrypt")
    await trail.sql("UPDATE audit_records SET actor = 'ak_innocent' WHERE id = :i", i=victim.id)
    bad = (await trail.verify(now=LATER)).first_bad
    assert bad is not None and (bad.kind, bad.record_id) == ("altered", victim.id)


async def test_deleted_record(trail: Trail) -> None:
    rows = await trail.records()
    victim = middle(rows, "key.rotate")
    await trail.sql("DELETE FROM audit_records WHERE id = :i", i=victim.id)
    bad = (await trail.verify(now=LATER)).first_bad
    assert bad is not None and (bad.kind, bad.seq) == ("deleted", victim.seq)
    assert bad.record_id == next(r.id for r in rows if r.seq == victim.seq + 1)


async def test_inserted_record(trail: Trail) -> None:
    rows = await trail.records()
    after = middle(rows, "key.decrypt")
    seg = after.segment_id
    await trail.sql(  # make room (two steps: unique index on segment, seq)
        "UPDATE audit_records SET seq = -seq - 1 WHERE segment_id = :s AND seq > :q",
        "UPDATE audit_records SET seq = -seq WHERE segment_id = :s AND seq < 0",
        s=seg,
        q=after.seq,
    )
    forged = await trail.sql(
        "INSERT INTO audit_records (ts, request_id, actor, tenant_id, action, target, outcome,"
        " segment_id, seq, prev_hash, hash, mac) VALUES (:ts, 'r', 'ak_x', 'default',"
        " 'key.decrypt', 'user-1', 'success', :s, :q, :p, :h, :m) RETURNING id",
        ts=datetime.now(UTC),
        s=seg,
        q=after.seq + 1,
        p=after.hash,
        h=os.urandom(32),
        m=os.urandom(32),
    )
    bad = (await trail.verify(now=LATER)).first_bad
    assert bad is not None and (bad.kind, bad.record_id) == ("inserted", forged[0].id)


async def test_swapped_records(trail: Trail) -> None:
    rows = await trail.records()
    a = middle(rows, "key.encrypt")
    b = next(r for r in rows if r.seq == a.seq + 1)
    await trail.sql(
        "UPDATE audit_records SET seq = -1 WHERE id = :a",
        "UPDATE audit_records SET seq = :sa WHERE id = :b",
        "UPDATE audit_records SET seq = :sb WHERE id = :a",
        a=a.id,
        b=b.id,
        sa=a.seq,
        sb=b.seq,
    )
    bad = (await trail.verify(now=LATER)).first_bad
    assert bad is not None and (bad.kind, bad.record_id, bad.seq) == ("reordered", b.id, a.seq)


async def test_truncated_tail_attested_by_a_checkpoint(trail: Trail) -> None:
    rows = await trail.records()
    cut = rows[-4]
    await trail.sql("DELETE FROM audit_records WHERE seq >= :q", q=cut.seq)
    report = await trail.verify(now=LATER)
    bad = report.first_bad
    assert bad is not None and (bad.kind, bad.seq, bad.checkpoint) == ("deleted", cut.seq, 2)


async def test_truncated_after_the_last_checkpoint(trail: Trail) -> None:
    # The attacker also removes the final checkpoint: what remains attests only up to
    # checkpoint 1, and the segment then ends with neither close nor heartbeat.
    rows = await trail.records()
    cut = rows[-4]
    await trail.sql(
        "DELETE FROM audit_records WHERE seq >= :q",
        "DELETE FROM audit_checkpoints WHERE number = 2",
        q=cut.seq,
    )
    report = await trail.verify(now=LATER)
    assert not report.ok and report.first_bad is None
    assert [(t.kind, t.seq) for t in report.truncated] == [("truncated", cut.seq - 1)]
    assert "seq" in report.truncated[0].message


@pytest.mark.parametrize("at_a_checkpoint", [False, True])
async def test_tail_cut_with_its_newest_checkpoint_is_unconfirmed_not_ok(
    trail: Trail, at_a_checkpoint: bool, tmp_path: Path
) -> None:
    # Issue #15 item 9: moments after the cut (before two heartbeats pass) what remains
    # is self-consistent and looks like a live writer's; it verified as ok. Cut
    # anywhere, or exactly at the head the surviving checkpoint attests.
    rows = await trail.records()
    (cp1,) = await trail.sql("SELECT body FROM audit_checkpoints WHERE number = 1")
    cut = json.loads(cp1.body)["heads"][0]["seq"] + 1 if at_a_checkpoint else rows[-4].seq
    await trail.sql(
        "DELETE FROM audit_records WHERE seq >= :q",
        "DELETE FROM audit_checkpoints WHERE number = 2",
        q=cut,
    )
    report = await trail.verify()  # now: right after the cut
    assert (report.status, report.ok, report.findings, report.truncated) == (
        "unconfirmed",
        False,
        [],
        [],
    )
    [u] = report.unconfirmed
    assert (u.kind, u.segment, u.seq) == ("unconfirmed", rows[0].segment_id, cut - 1)
    assert "no anchors" in u.message
    later = await trail.verify(now=LATER)  # two heartbeats on: as before, truncated
    assert later.status == "failed" and [t.seq for t in later.truncated] == [cut - 1]
    if trail.postgres or at_a_checkpoint:
        return
    env = {"STRONGROOM_DATABASE_URL": trail.url}
    env["STRONGROOM_MASTER_KEY_FILE"] = str(trail.settings.kms.master_key_file)
    out = run_cli(tmp_path, "audit", "verify", **env)
    assert out.returncode == 3, out.stdout + out.stderr
    assert "UNCONFIRMED: nothing wrong found" in out.stdout and "OK" not in out.stdout
    assert f"UNCONFIRMED segment {rows[0].segment_id}: live segment" in out.stdout


async def test_replaced_checkpoint(trail: Trail) -> None:
    (cp,) = await trail.sql("SELECT body FROM audit_checkpoints WHERE number = 1")
    body = json.loads(cp.body)
    body["heads"][0]["seq"] -= 5  # "the trail was shorter"
    new = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    sig = Ed25519PrivateKey.generate().sign(SIG_TAG + new)
    await trail.sql(
        "UPDATE audit_checkpoints SET body = :b, signature = :s WHERE number = 1",
        b=new.decode(),
        s=sig,
    )
    bad = (await trail.verify(now=LATER)).first_bad
    assert bad is not None and (bad.kind, bad.checkpoint) == ("checkpoint", 1)


async def test_range_verification(trail: Trail) -> None:
    rows = await trail.records()
    (mid,) = await trail.sql("SELECT ts FROM audit_records WHERE id = :i", i=rows[20].id)
    ts = mid.ts if isinstance(mid.ts, datetime) else datetime.fromisoformat(mid.ts)
    ts = ts if ts.tzinfo else ts.replace(tzinfo=UTC)
    report = await trail.verify(start=ts - timedelta(microseconds=1), now=LATER)
    assert report.ok and 0 < report.records < len(rows)
    victim = rows[-3]
    await trail.sql("UPDATE audit_records SET target = 'x' WHERE id = :i", i=victim.id)
    bad = (await trail.verify(start=ts, end=LATER, now=LATER)).first_bad
    assert bad is not None and bad.record_id == victim.id


@pytest.mark.parametrize("trail", ["postgres"], indirect=True)
async def test_postgres_refuses_update_and_delete(trail: Trail) -> None:
    assert trail.postgres
    engine = create_async_engine(trail.url)
    try:
        for st in (
            "UPDATE audit_records SET actor = 'x'",
            "DELETE FROM audit_records",
            "TRUNCATE audit_records",
            "UPDATE audit_segments SET writer = 'x'",
            "DELETE FROM audit_segments",
            "UPDATE audit_checkpoints SET key_id = 'x'",
            "DELETE FROM audit_checkpoints",
            "TRUNCATE audit_checkpoints",
        ):
            with pytest.raises(Exception, match="append-only"):
                async with engine.begin() as conn:
                    await conn.execute(text(st))
    finally:
        await engine.dispose()
    assert (await trail.verify(now=LATER)).ok


async def test_api_and_cli(trail: Trail, tmp_path: Path) -> None:
    svc = build_services(trail.settings)
    await svc.start()
    _, key = await svc.access.create("default", ["auditor"], "auditor")
    app = create_app(trail.settings, svc)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 4242))
    async with httpx.AsyncClient(transport=transport, base_url="http://sr") as client:
        r = await client.get("/api/v1/audit/verify", headers={"X-API-Key": key})
        body = r.json()
        assert r.status_code == 200 and body["findings"] == [], r.text
        # The service's own segment is live: intact, but its end unproven (no anchors).
        assert (body["status"], body["ok"]) == ("unconfirmed", False), r.text
        assert [u["segment"] for u in body["unconfirmed"]] == [svc.audit.segment_id]
        pub = await client.get("/api/v1/audit/public-key", headers={"X-API-Key": key})
        assert pub.status_code == 200 and "BEGIN PUBLIC KEY" in pub.json()["pem"]
        denied = await client.get("/api/v1/audit/verify")
        assert denied.status_code == 401
    await svc.close()
    if trail.postgres:
        return
    env = {"STRONGROOM_DATABASE_URL": trail.url}
    env["STRONGROOM_MASTER_KEY_FILE"] = str(trail.settings.kms.master_key_file)
    out = run_cli(tmp_path, "audit", "public-key", **env)
    assert out.returncode == 0 and out.stdout.startswith("-----BEGIN PUBLIC KEY"), out.stderr
    (tmp_path / "pub.pem").write_text(out.stdout)
    ok = run_cli(tmp_path, "audit", "verify", "--public-key", str(tmp_path / "pub.pem"), **env)
    assert ok.returncode == 0 and "OK: trail intact" in ok.stdout, ok.stdout + ok.stderr
    victim = middle(await trail.records(), "key.encrypt")
    await trail.sql("UPDATE audit_records SET outcome = 'failure' WHERE id = :i", i=victim.id)
    bad = run_cli(tmp_path, "audit", "verify", "--json", **env)
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert json.loads(bad.stdout)["first_bad"]["record_id"] == victim.id


@pytest.mark.slow
async def test_100k_records_verify(trail: Trail) -> None:
    svc = build_services(trail.settings)
    await svc.start()
    batch = [ev(i) for i in range(1000)]
    t0 = time.perf_counter()
    for _ in range(100):
        await asyncio.gather(*(svc.audit.append(e) for e in batch))
    written = time.perf_counter() - t0
    await svc.close()
    report = await trail.verify(now=LATER)
    assert report.ok, report.findings[:3]
    assert report.records >= 100_000
    print(
        f"\n[{'postgres' if trail.postgres else 'sqlite'}] wrote 100,000 audit records in "
        f"{written:.1f}s; verified {report.records} records in {report.seconds:.2f}s"
    )


async def test_two_writers_heartbeats_and_checkpoints(trail: Trail) -> None:
    audit = trail.settings.audit.model_copy(
        update={"heartbeat_seconds": 0.2, "checkpoint_records": 5}
    )
    fast = trail.settings.model_copy(update={"audit": audit})
    a, b = build_services(fast), build_services(fast)
    await a.start()
    await b.start()
    assert a.audit.segment_id != b.audit.segment_id
    await asyncio.gather(*(svc.audit.append(ev(i)) for i in range(20) for svc in (a, b)))
    deadline = time.monotonic() + 10
    beats: list[Any] = []
    while time.monotonic() < deadline and len(beats) < 2:
        await asyncio.sleep(0.1)
        beats = await trail.sql("SELECT id FROM audit_records WHERE action = 'audit.heartbeat'")
    assert len(beats) >= 2  # both idle writers said they were alive
    (count,) = await trail.sql("SELECT count(*) AS n FROM audit_checkpoints")
    assert count.n > 2  # count-triggered checkpoints beyond the fixture's two
    live = await trail.verify()  # writers still running: live, not truncated ...
    assert live.segments == 3 and not live.findings and not live.truncated, live
    # ... but without anchors their ends are not proven
    assert live.status == "unconfirmed", live
    assert {u.segment for u in live.unconfirmed} == {a.audit.segment_id, b.audit.segment_id}
    await a.close()
    await b.close()
    report = await trail.verify(now=LATER)
    assert report.ok and report.segments == 3, report


async def test_migration_0003_downgrades_and_upgrades(trail: Trail) -> None:
    db = Database(trail.url)

    def tables(conn: Connection) -> set[str]:
        return set(inspect(conn).get_table_names())

    async def run(revision: str, down: bool = False) -> set[str]:
        cfg = alembic_config()

        def go(conn: Connection) -> None:
            cfg.attributes["connection"] = conn
            (command.downgrade if down else command.upgrade)(cfg, revision)

        async with db.engine.begin() as conn:
            await conn.run_sync(go)
        async with db.engine.connect() as conn:
            return await conn.run_sync(tables)

    try:
        assert not {"audit_segments", "audit_checkpoints"} & await run("0002", down=True)
        assert {"audit_segments", "audit_checkpoints"} <= await run("head")
    finally:
        await db.dispose()
