"""The recovery drill: encrypt, back up the database, lose the key file, rebuild it
from M of N shares (``strongroom kms export-recovery`` / ``import-recovery``) into a
fresh directory, restore the backup there, decrypt."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from strongroom.config import Settings
from strongroom.context import Actor
from strongroom.kms.recovery import RecoveryError, rebuild_key
from strongroom.services.container import build_services
from tests.integration.test_cli import CLI, cli_env, run_cli

ACTOR = Actor("drill", "default", "rid", None)
PLAIN = ["tax id 123-45-6789", "born 1970-01-01", "ünïcode ✓"]


def settings_for(directory: Path) -> Settings:
    return Settings(
        database_url=f"sqlite+aiosqlite:///{directory}/strongroom.db",
        master_key_file=directory / "strongroom.key",
        scheduler_enabled=False,
    )


@pytest.mark.slow
async def test_restore_drill_from_three_of_five_shares(tmp_path: Path) -> None:
    live, restored = tmp_path / "live", tmp_path / "restored"
    live.mkdir()
    assert run_cli(live, "migrate").returncode == 0
    svc = build_services(settings_for(live))
    await svc.start()
    for key_type in ("x25519-hpke", "aes256-gcm", "mlkem768-x25519-hpke"):
        await svc.keys.create(ACTOR, key_type, key_type, None)
    ciphertexts = {
        u: await svc.keys.encrypt(ACTOR, u, PLAIN, "ctx")
        for u in ("x25519-hpke", "aes256-gcm", "mlkem768-x25519-hpke")
    }
    await svc.close()

    exported = run_cli(live, "kms", "export-recovery", "--threshold", "3", "--shares", "5")
    assert exported.returncode == 0, exported.stderr
    shares = exported.stdout.splitlines()
    assert len(shares) == 5 and len(set(shares)) == 5
    key = (live / "strongroom.key").read_bytes()
    assert key.hex() not in exported.stdout + exported.stderr
    kcv = exported.stderr.split("key check value ")[1].split(".")[0]

    backup = tmp_path / "backup.db"
    shutil.copy(live / "strongroom.db", backup)
    shutil.rmtree(live)  # the key file is lost with the machine

    restored.mkdir()
    imported = subprocess.run(  # noqa: ASYNC221 - a test driving the CLI in sequence
        [CLI, "kms", "import-recovery", "--output", str(restored / "strongroom.key")],
        input="\n".join([shares[4], shares[0], shares[2]]),
        env=cli_env(restored),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert imported.returncode == 0, imported.stderr
    assert kcv in imported.stderr
    assert (restored / "strongroom.key").read_bytes() == key
    assert (restored / "strongroom.key").stat().st_mode & 0o777 == 0o600
    shutil.copy(backup, restored / "strongroom.db")

    svc = build_services(settings_for(restored))
    await svc.start()
    try:
        for user, texts in ciphertexts.items():
            assert await svc.keys.decrypt(ACTOR, user, texts, "ctx") == PLAIN
    finally:
        await svc.close()


@pytest.mark.slow
def test_too_few_or_mistyped_shares_rebuild_nothing(tmp_path: Path) -> None:
    assert run_cli(tmp_path, "migrate").returncode == 0
    shares = run_cli(tmp_path, "kms", "export-recovery", "--threshold", "2", "--shares", "3")
    lines = shares.stdout.splitlines()
    for bad in ([lines[0]], [lines[0], lines[0]], [lines[0], _typo(lines[1])]):
        try:
            rebuild_key(bad)
        except RecoveryError:
            continue
        raise AssertionError("rebuilt a key from bad shares")
    out = tmp_path / "again.key"
    refused = subprocess.run(
        [CLI, "kms", "import-recovery", "--output", str(tmp_path / "strongroom.key")],
        input="\n".join(lines[:2]),
        env=cli_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert refused.returncode == 2 and "refusing to overwrite" in refused.stderr
    assert not out.exists()


def _typo(share: str) -> str:
    words = share.split()
    words[3] = "academic" if words[3] != "academic" else "acid"
    return " ".join(words)
