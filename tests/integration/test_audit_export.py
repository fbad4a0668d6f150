"""Export to JSON Lines and the offline check (no database, no KMS); archival of old
ranges to verifiable files, after which the trail still verifies; on SQLite and
PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from strongroom.audit.actions import KeyAction
from strongroom.audit.archive import Archived, archive
from strongroom.audit.export import select_range, write
from strongroom.audit.findings import OfflineReport
from strongroom.audit.models import AuditEvent, Outcome
from strongroom.audit.offline import verify_lines
from strongroom.config import Settings
from strongroom.context import Actor
from strongroom.errors import ArchiveRefused
from strongroom.services.container import build_services
from tests.integration.audit_trail import trail_settings
from tests.integration.test_cli import run_cli

LATER = datetime.now(UTC) + timedelta(hours=1)


def ev(i: int, who: str = "ak_a") -> AuditEvent:
    actor = Actor(who, "default", f"req-{i}", "198.51.100.9")
    return AuditEvent(actor, KeyAction.ENCRYPT, Outcome.SUCCESS, f"user-{i}", 1, {"n": i})


@dataclass
class Trail:
    settings: Settings
    url: str
    postgres: bool
    mid: datetime  # after checkpoint 1, before checkpoint 2
    public: Ed25519PublicKey
    key_id: str
    server: Any = None

    async def sql(self, statement: str, **params: Any) -> list[Any]:
        engine = create_async_engine(self.url)
        try:
            async with engine.begin() as conn:
                if self.postgres:
                    await conn.execute(text("SET LOCAL session_replication_role = replica"))
                res = await conn.execute(text(statement), params)
                return list(res) if res.returns_rows else []
        finally:
            await engine.dispose()

    async def export(self, path: Path, start: datetime | None = None) -> OfflineReport:
        svc = build_services(self.settings)
        try:
            sel = await select_range(svc.db, start, None)
            await write(svc.db, path, sel, kind="export", key_id=self.key_id, start=start, end=None)
        finally:
            await svc.close()
        return check(path, self.public)

    async def archive(self, before: datetime, out: Path) -> Archived:
        svc = build_services(self.settings)
        await svc.audit.start()
        try:
            q = svc.audit_queries
            return await archive(svc.db, svc.audit, q, self.public, self.key_id, before, out)
        finally:
            await svc.close()

    async def verify_ok(self) -> None:
        svc = build_services(self.settings)
        try:
            report = await svc.audit_queries.verify(now=LATER)
        finally:
            await svc.close()
        assert report.ok, (report.findings, report.truncated)


def check(path: Path, public: Ed25519PublicKey) -> OfflineReport:
    with path.open(encoding="ascii") as f:
        return verify_lines(f, public)


@pytest.fixture(params=["sqlite", "postgres"])
async def trail(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Trail]:
    settings, server = trail_settings(request, tmp_path)
    url = settings.database.url
    a, b = build_services(settings), build_services(settings)
    await a.start(migrate=True)
    await b.start()  # a second writer: its own segment
    for i in range(10):
        await a.audit.append(ev(i))
        await b.audit.append(ev(100 + i, "ak_b"))
    with pytest.raises(RuntimeError):  # a void record in the chain
        async with a.db.transaction() as s:
            a.audit.record_in(s, ev(50))
            raise RuntimeError("abort")
    assert await a.audit.checkpoint() == 1
    async with a.db.read() as s:
        first_ts = (await s.execute(text("SELECT ts FROM audit_checkpoints"))).scalar_one()
    first_ts = first_ts if isinstance(first_ts, datetime) else datetime.fromisoformat(first_ts)
    mid = (first_ts if first_ts.tzinfo else first_ts.replace(tzinfo=UTC)) + timedelta(
        microseconds=1
    )
    for i in range(10, 20):
        await a.audit.append(ev(i))
        await b.audit.append(ev(100 + i, "ak_b"))
    assert await a.audit.checkpoint() == 2
    for i in range(20, 25):
        await a.audit.append(ev(i))
    kid, _ = await a.audit_queries.public_key()
    public = (await a.audit_queries.signer()).public
    await b.close()
    await a.close()  # close records and a last checkpoint
    yield Trail(settings, url, request.param == "postgres", mid, public, kid, server)


async def test_export_verifies_offline(trail: Trail, tmp_path: Path) -> None:
    whole = await trail.export(tmp_path / "all.jsonl")
    assert whole.ok, whole.findings
    assert whole.segments == 2 and whole.checkpoints >= 3
    assert whole.covered == whole.records - whole.unchained and whole.uncovered == 0
    part = await trail.export(tmp_path / "part.jsonl", start=trail.mid)
    assert part.ok, part.findings
    assert 0 < part.records < whole.records
    lines = [json.loads(x) for x in (tmp_path / "part.jsonl").read_text().splitlines()]
    header, end = lines[0], lines[-1]
    assert header["type"] == "export" and header["format"] == 1 and end["type"] == "end"
    assert {x["type"] for x in lines} == {"export", "segment", "record", "checkpoint", "end"}


async def test_tampered_export_fails_naming_the_record(trail: Trail, tmp_path: Path) -> None:
    path = tmp_path / "all.jsonl"
    assert (await trail.export(path)).ok
    lines = path.read_text().splitlines()
    idx = next(i for i, x in enumerate(lines) if '"actor":"ak_b"' in x and '"n":105' in x)
    victim = json.loads(lines[idx])

    def tampered(name: str, new_lines: list[str]) -> OfflineReport:
        p = tmp_path / f"{name}.jsonl"
        p.write_text("\n".join(new_lines) + "\n")
        return check(p, trail.public)

    edited = lines.copy()
    edited[idx] = lines[idx].replace('"actor":"ak_b"', '"actor":"ak_x"')
    report = tampered("edited", edited)
    assert not report.ok and report.findings[0].record_id == victim["id"]
    assert report.findings[0].kind == "altered"

    dropped = lines[:idx] + lines[idx + 1 :]
    dropped[-1] = dropped[-1].replace(
        f'"records":{report.records}', f'"records":{report.records - 1}'
    )
    report = tampered("dropped", dropped)
    assert not report.ok and report.findings[0].kind == "deleted"
    assert report.findings[0].seq == victim["seq"]

    # Rewriting the hashes all the way up to the head does not help: the checkpoint
    # signed the old head.
    relinked = _relink(lines, idx, '"actor":"ak_b"', '"actor":"ak_x"')
    report = tampered("relinked", relinked)
    assert not report.ok and "checkpoint" in report.findings[0].message

    cp = next(i for i, x in enumerate(lines) if x.startswith('{"type":"checkpoint"'))
    forged = lines.copy()
    obj = json.loads(lines[cp])
    obj["signature"] = "00" * 64
    forged[cp] = json.dumps(obj, separators=(",", ":"))
    report = tampered("forged", forged)
    assert not report.ok and report.findings[0].kind == "checkpoint"


@pytest.mark.slow
@pytest.mark.parametrize("trail", ["sqlite"], indirect=True)  # one CLI path for both
async def test_cli_export_and_verify_export(trail: Trail, tmp_path: Path) -> None:
    env = {"STRONGROOM_DATABASE_URL": trail.url}
    env["STRONGROOM_MASTER_KEY_FILE"] = str(trail.settings.kms.master_key_file)
    pem = run_cli(tmp_path, "audit", "public-key", **env).stdout
    (tmp_path / "pub.pem").write_text(pem)
    out = tmp_path / "e.jsonl"
    done = run_cli(tmp_path, "audit", "export", "--output", str(out), **env)
    assert done.returncode == 0, done.stderr
    # Offline: no database, no master key in the environment.
    ok = run_cli(tmp_path, "audit", "verify-export", str(out), "--public-key", "pub.pem")
    assert ok.returncode == 0 and "OK: export intact" in ok.stdout, ok.stdout + ok.stderr
    lines = out.read_text().splitlines()
    idx = next(i for i, x in enumerate(lines) if '"n":7' in x)
    lines[idx] = lines[idx].replace('"outcome":"success"', '"outcome":"failure"')
    out.write_text("\n".join(lines) + "\n")
    bad = run_cli(tmp_path, "audit", "verify-export", str(out), "--public-key", "pub.pem")
    rid = json.loads(lines[idx])["id"]
    assert bad.returncode == 1 and f"BAD: record id {rid} " in bad.stdout, bad.stdout

    arch = tmp_path / "arch"
    when = LATER.isoformat()
    done = run_cli(tmp_path, "audit", "archive", "--output", str(arch), "--before", when, **env)
    assert done.returncode == 0 and "archived" in done.stdout, done.stdout + done.stderr
    [file] = arch.glob("*.jsonl")
    ok = run_cli(tmp_path, "audit", "verify-export", str(file), "--public-key", "pub.pem")
    assert ok.returncode == 0, ok.stdout
    ok = run_cli(tmp_path, "audit", "verify", "--public-key", "pub.pem", **env)
    assert ok.returncode == 0 and "OK: trail intact" in ok.stdout, ok.stdout + ok.stderr


async def test_archive_then_verify(trail: Trail, tmp_path: Path) -> None:
    before = await trail.sql("SELECT count(*) FROM audit_records")
    done = await trail.archive(trail.mid, tmp_path / "archive")
    assert done.path is not None and done.checkpoint == 1 and done.records > 0
    assert check(done.path, trail.public).ok
    after = await trail.sql("SELECT count(*) FROM audit_records")
    # Archived records left; the archival's own segment (open, record, close) came.
    assert after[0][0] == before[0][0] - done.records + 3
    numbers = [r[0] for r in await trail.sql("SELECT number FROM audit_checkpoints")]
    assert min(numbers) == 1
    await trail.verify_ok()

    second = await trail.archive(LATER, tmp_path / "archive")
    assert second.path is not None and second.checkpoint is not None and second.checkpoint > 1
    assert check(second.path, trail.public).ok
    numbers = [r[0] for r in await trail.sql("SELECT number FROM audit_checkpoints")]
    assert min(numbers) == second.checkpoint
    await trail.verify_ok()
    rest = tmp_path / "rest.jsonl"
    assert (await trail.export(rest)).ok  # an export after archival still verifies
    marker = await trail.sql("SELECT detail FROM audit_records WHERE action = 'audit.archive'")
    detail = marker[-1][0] if isinstance(marker[-1][0], dict) else json.loads(marker[-1][0])
    assert detail["checkpoint"] == second.checkpoint


async def test_archive_refuses_a_damaged_trail(trail: Trail, tmp_path: Path) -> None:
    victim = (await trail.sql("SELECT id FROM audit_records WHERE action = 'key.encrypt'"))[3]
    await trail.sql("UPDATE audit_records SET target = 'x' WHERE id = :i", i=victim[0])
    ids = {r[0] for r in await trail.sql("SELECT id FROM audit_records")}
    with pytest.raises(ArchiveRefused):
        await trail.archive(LATER, tmp_path / "archive")
    # Nothing deleted (the refused run's own segment open/close records came).
    assert ids <= {r[0] for r in await trail.sql("SELECT id FROM audit_records")}
    assert not list((tmp_path / "archive").glob("*.jsonl"))


async def test_deleting_the_start_is_not_an_archival(trail: Trail) -> None:
    await trail.sql("DELETE FROM audit_checkpoints WHERE number = 1")
    svc = build_services(trail.settings)
    try:
        report = await svc.audit_queries.verify(now=LATER)
    finally:
        await svc.close()
    assert not report.ok and report.findings[0].kind == "checkpoint"


@pytest.mark.parametrize("trail", ["postgres"], indirect=True)
async def test_service_role_cannot_use_the_archive_path(trail: Trail) -> None:
    """Even with table privileges and the setting, a non-member is refused."""
    db = trail.url.rsplit("/", 1)[1]
    server = trail.server
    server.psql("GRANT SELECT, DELETE ON audit_records TO strongroom_app", dbname=db)
    engine = create_async_engine(server.app_role_url(db))
    try:
        with pytest.raises(Exception, match="append-only"):
            async with engine.begin() as conn:
                await conn.execute(
                    text("SELECT set_config('strongroom.audit_archive', 'on', true)")
                )
                await conn.execute(text("DELETE FROM audit_records"))
    finally:
        await engine.dispose()
    await trail.verify_ok()


def _relink(lines: list[str], idx: int, old: str, new: str) -> list[str]:
    """Edit one record and recompute every hash and link after it in its segment."""
    from strongroom.audit.chain import link_value, record_body, record_hash
    from strongroom.audit.export_format import row_of

    out = lines.copy()
    rec = json.loads(lines[idx].replace(old, new))
    seg, prev = rec["seg"], None
    for i in range(idx, len(out)):
        obj = json.loads(out[i]) if i != idx else rec
        if obj.get("type") != "record" or obj.get("seg") != seg:
            continue
        if prev is not None:
            obj["prev"] = prev
        row = row_of(obj)
        h = record_hash(record_body(seg, obj["seq"], bytes.fromhex(obj["prev"]), row))
        obj["hash"] = link_value(row, h).hex()
        prev = obj["hash"]
        out[i] = json.dumps(obj, separators=(",", ":"))
    return out
