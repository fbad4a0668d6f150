"""Long commands (``kms rewrap``, ``audit verify``, ``audit export``, ``audit archive``)
report progress on stderr, as plain lines when stderr is not a terminal; stdout keeps
only the result. The services behind them count what they did (cli/progress.py draws
it)."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

from typer.testing import CliRunner

from strongroom.audit.actions import KeyAction
from strongroom.audit.export import select_range, write
from strongroom.audit.models import AuditEvent, Outcome
from strongroom.audit.offline import verify_lines
from strongroom.audit.verify import TICK
from strongroom.cli import app
from strongroom.config import Settings
from strongroom.context import Actor
from strongroom.kms.local import LocalKms, create_master_key_file
from strongroom.kms.router import KmsRouter
from strongroom.observability.progress import Progress
from strongroom.services.container import build_services
from strongroom.services.kms_rewrap import KmsRewrap
from strongroom.store.tenancy import enter_system_scope
from tests.unit.kms.test_router import Renamed

ACTOR = Actor("test", "default", "req-progress", None)
FUTURE = "2099-01-01T00:00:00+00:00"


def progress_lines(stderr: str, label: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith(f"{label}: ")]


def ends(lines: list[str], done: int, unit: str = "records") -> bool:
    pattern = rf".*: {done:,}/{done:,} {unit} \(100%\); done in \d+\.\ds"
    return re.fullmatch(pattern, lines[-1]) is not None


def test_each_long_command_reports_progress_on_stderr(env: Path) -> None:
    cli = CliRunner()
    for role in ("admin", "auditor", "key-admin"):  # audit records to walk
        assert cli.invoke(app, ["access-keys", "create", "--role", role]).exit_code == 0

    verify = cli.invoke(app, ["audit", "verify", "--json"])
    assert verify.exit_code == 0, verify.output
    records = json.loads(verify.stdout)["records"]  # stdout: the report alone
    lines = progress_lines(verify.stderr, "audit verify")
    assert records > 0 and lines[0] == f"audit verify: 0/{records} records (0%)"
    assert ends(lines, records), lines

    out = env / "export.jsonl"
    export = cli.invoke(app, ["audit", "export", "--output", str(out)])
    assert export.exit_code == 0, export.output
    assert export.stdout.startswith("wrote ") and len(export.stdout.splitlines()) == 1
    written = int(export.stdout.split()[1])
    assert ends(progress_lines(export.stderr, "audit export"), written)

    rewrap = cli.invoke(app, ["kms", "rewrap"])
    assert rewrap.exit_code == 0, rewrap.output
    assert json.loads(rewrap.stdout)["moved"] == 0  # one local key: nothing to move
    assert ends(progress_lines(rewrap.stderr, "kms rewrap"), 0, "wrapped keys")

    archive = cli.invoke(app, ["audit", "archive", "--output", str(env), "--before", FUTURE])
    assert archive.exit_code == 0, archive.output
    lines = progress_lines(archive.stderr, "audit archive")
    steps = [line.split(": ")[1] for line in lines]
    assert steps[0] == "verify" and steps[-1] == "check" and "write" in steps, lines
    moved = int(archive.stdout.split()[1])  # "archived N records ..."
    assert ends(lines, moved), lines


async def test_rewrap_counts_every_row_it_handles(tmp_path: Path) -> None:
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path}/s.db",
        master_key_file=tmp_path / "strongroom.key",
        scheduler_enabled=False,
    )
    create_master_key_file(settings.kms.master_key_file)
    svc = build_services(settings)
    enter_system_scope()
    await svc.start(migrate=True)
    try:
        for user in ("u-1", "u-2", "u-3"):
            await svc.keys.create(ACTOR, user, None, None)
        before = await KmsRewrap(svc.db, svc.kms, svc.audit).status()
        # A new root key on another backend; the local one opens what it wrapped.
        local = LocalKms.from_file(settings.kms.master_key_file)
        router = KmsRouter(Renamed("pkcs11"), {"local": local})
        heard: list[tuple[int, int | None, str]] = []
        report = await KmsRewrap(svc.db, router, svc.audit, batch_size=2).run(
            ACTOR, lambda done, total, step="": heard.append((done, total, step))
        )
    finally:
        await svc.close()
    rows = sum(before.values())  # 3 user keys, the service keys, the audit segment
    assert report.moved == rows >= 6 and report.complete
    assert heard[0] == (0, rows, "") and heard[-1] == (rows, rows, "")
    dones = [done for done, _, _ in heard]
    assert dones == sorted(dones) and len(set(dones)) > 3  # row by row, then by batch


def recorder() -> tuple[list[tuple[int, int | None]], Progress]:
    heard: list[tuple[int, int | None]] = []

    def progress(done: int, total: int | None, step: str = "") -> None:
        heard.append((done, total))

    return heard, progress


async def test_the_walks_tell_how_far_they_got_inside_a_segment(tmp_path: Path) -> None:
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path}/s.db",
        master_key_file=tmp_path / "strongroom.key",
        scheduler_enabled=False,
        audit_flush_interval_ms=0,
    )
    create_master_key_file(settings.kms.master_key_file)
    svc = build_services(settings)
    enter_system_scope()
    await svc.start(migrate=True)
    try:
        event = AuditEvent(ACTOR, KeyAction.ENCRYPT, Outcome.SUCCESS, "u-1", 1, None)
        for _ in range(5):  # one segment of 2,500 records and more
            await asyncio.gather(*(svc.audit.append(event) for _ in range(500)))
        heard, online = recorder()
        report = await svc.audit_queries.verify(progress=online)
        n = report.records
        assert report.ok and n > 2 * TICK
        assert heard[0] == (0, n) and heard[-1] == (n, n)
        assert {d for d, _ in heard} >= {TICK, 2 * TICK}  # mid-segment, from the walk

        heard, writing = recorder()
        sel = await select_range(svc.db, None, None)
        path = tmp_path / "e.jsonl"
        written = await write(
            svc.db, path, sel, kind="export", key_id="k", start=None, end=None, progress=writing
        )
        assert heard[0][0] == 0 and heard[-1] == (written.records, written.records)
        assert written.records > 2 * TICK
        public = (await svc.audit_queries.signer()).public
    finally:
        await svc.close()
    heard, offline = recorder()
    with path.open(encoding="ascii") as f:
        assert verify_lines(f, public, offline).ok
    assert {d for d, _ in heard} >= {0, TICK, 2 * TICK}
    assert heard[-1] == (n, n)  # every chained record of the trail, walked offline
