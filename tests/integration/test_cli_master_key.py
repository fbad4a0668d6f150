"""A wrong or missing master key file on a database that holds wrapped keys is refused
at start, naming the key the data needs (issue #15, item 14); a fresh database still
gets a new key."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from strongroom.cli import app
from strongroom.config import AwsKmsSettings, KmsSettings
from strongroom.kms.local import MasterKeyFileError, create_master_key_file
from strongroom.services.root_key import check_master_key
from strongroom.store.db import Database
from tests.integration.cli_support import one_line
from tests.integration.test_cli import run_cli

KEY_REF = re.compile(r"local:[0-9a-f]{16}")


def data_key(env: Path) -> str:
    made = CliRunner().invoke(app, ["migrate"])
    assert made.exit_code == 0, made.output
    assert "created master key file" in made.stderr
    status = CliRunner().invoke(app, ["kms", "status"])
    assert status.exit_code == 0, status.output
    target: str = json.loads(status.stdout)["target"]
    assert KEY_REF.fullmatch(target)
    return target


def test_a_missing_key_file_on_a_used_database_is_refused_and_not_created(env: Path) -> None:
    needed = data_key(env)
    typo = env / "strongrom.key"
    for args in (["migrate"], ["access-keys", "list"], ["audit", "public-key"]):
        result = CliRunner().invoke(app, args, env={"STRONGROOM_MASTER_KEY_FILE": str(typo)})
        assert result.exit_code == 2, result.output
        line = one_line(result.stderr)
        assert line.startswith("error: ") and "master key file not found" in line
        assert "STRONGROOM_MASTER_KEY_FILE" in line and needed in line
        assert "import-recovery" in line
        assert not typo.exists()


def test_a_different_key_file_is_refused_naming_both_keys(env: Path) -> None:
    needed = data_key(env)
    other = env / "other.key"
    create_master_key_file(other)
    result = CliRunner().invoke(
        app, ["access-keys", "list"], env={"STRONGROOM_MASTER_KEY_FILE": str(other)}
    )
    assert result.exit_code == 2, result.output
    line = one_line(result.stderr)
    refs = KEY_REF.findall(line)
    assert len(set(refs)) == 2 and needed in refs, line
    assert "STRONGROOM_MASTER_KEY_FILE" in line

    # kms status says which key the data needs, without the right key at hand.
    status = CliRunner().invoke(
        app, ["kms", "status"], env={"STRONGROOM_MASTER_KEY_FILE": str(other)}
    )
    assert status.exit_code == 2
    assert json.loads(status.stdout)["needs"] == [needed]
    assert json.loads(status.stdout)["target"] is None
    assert needed in one_line(status.stderr)


def test_import_recovery_still_works_after_a_missing_key(env: Path) -> None:
    needed = data_key(env)
    shares = CliRunner().invoke(
        app, ["kms", "export-recovery", "--threshold", "1", "--shares", "1"]
    )
    assert shares.exit_code == 0, shares.output
    (env / "strongroom.key").unlink()  # the key is lost ...
    refused = CliRunner().invoke(app, ["access-keys", "list"])
    assert refused.exit_code == 2 and needed in refused.stderr
    assert not (env / "strongroom.key").exists()  # ... and no useless key took its place
    restored = CliRunner().invoke(
        app,
        ["kms", "import-recovery", "--output", str(env / "strongroom.key")],
        input=shares.stdout,
    )
    assert restored.exit_code == 0, restored.output
    assert CliRunner().invoke(app, ["access-keys", "list"]).exit_code == 0


def test_the_console_script_refuses_a_mistyped_key_path(tmp_path: Path) -> None:
    assert run_cli(tmp_path, "migrate").returncode == 0
    typo = tmp_path / "typo.key"
    result = run_cli(tmp_path, "access-keys", "list", STRONGROOM_MASTER_KEY_FILE=str(typo))
    assert result.returncode == 2
    line = one_line(result.stderr)
    assert "STRONGROOM_MASTER_KEY_FILE" in line and KEY_REF.search(line)
    assert result.stdout == "" and not typo.exists()


def test_a_fresh_database_still_gets_a_new_key(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "access-keys", "list")
    assert result.returncode == 0, result.stderr
    assert "created master key file" in result.stderr
    assert (tmp_path / "strongroom.key").stat().st_mode & 0o777 == 0o600


async def test_a_previous_local_backend_never_gets_a_new_key(tmp_path: Path) -> None:
    # Local only as a reader (moving to another backend): a missing file is an error,
    # a new key could open nothing.
    settings = KmsSettings(
        backend="aws",
        previous=["local"],
        master_key_file=tmp_path / "k",
        aws=AwsKmsSettings(key_id="alias/x"),
    )
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/s.db")
    try:
        with pytest.raises(MasterKeyFileError, match="not found"):
            await check_master_key(settings, db, create=True)
    finally:
        await db.dispose()
    assert not (tmp_path / "k").exists()
