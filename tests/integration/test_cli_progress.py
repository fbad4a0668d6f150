"""Long commands (``kms rewrap``, ``audit verify``, ``audit export``, ``audit archive``)
report progress on stderr, as plain lines when stderr is not a terminal; stdout keeps
only the result. The services behind them count what they did (cli/progress.py draws
it)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from typer.testing import CliRunner

from strongroom.cli import app
from strongroom.config import Settings
from strongroom.context import Actor
from strongroom.kms.local import LocalKms, create_master_key_file
from strongroom.kms.router import KmsRouter
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
