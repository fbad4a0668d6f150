"""The CLI runner (strongroom/cli/runner.py): settings mistakes and expected failures
are one line on stderr with exit 2, never a traceback; services open only as far as
each command needs."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
import typer
from pydantic import ValidationError
from typer.testing import CliRunner

from strongroom.cli import app
from strongroom.cli.runner import Opening, describe_settings_error, operator, run
from strongroom.config import Settings
from strongroom.errors import NotFound
from strongroom.kms.local import create_master_key_file
from strongroom.services.container import Services
from tests.integration.cli_support import one_line
from tests.integration.test_cli import run_cli


@pytest.mark.parametrize(
    "args",
    [
        ["migrate"],
        ["serve"],
        ["access-keys", "list"],
        ["keys", "rotate-due"],
        ["kms", "status"],
        ["kms", "export-recovery", "--threshold", "2", "--shares", "3"],
        ["audit", "public-key"],
        ["audit", "archive", "--output", "."],
    ],
)
def test_a_bad_setting_is_one_line_naming_the_variable(env: Path, args: list[str]) -> None:
    result = CliRunner().invoke(app, args, env={"STRONGROOM_PORT": "not-a-port-4711"})
    assert result.exit_code == 2, result.output
    line = one_line(result.stderr)
    assert line.startswith("error: invalid settings: STRONGROOM_PORT: ")
    assert "not-a-port-4711" not in result.output  # values may be secrets: never echoed
    assert result.stdout == ""
    assert not (env / "strongroom.key").exists()


def test_an_unknown_kms_and_unparsable_json_name_their_variables(env: Path) -> None:
    bad_kms = CliRunner().invoke(app, ["migrate"], env={"STRONGROOM_KMS": "nope"})
    assert bad_kms.exit_code == 2
    assert one_line(bad_kms.stderr).startswith("error: invalid settings: STRONGROOM_KMS: ")

    bad_json = CliRunner().invoke(app, ["migrate"], env={"STRONGROOM_KMS_PREVIOUS": "[nope"})
    assert bad_json.exit_code == 2
    line = one_line(bad_json.stderr)
    assert line == "error: invalid settings: STRONGROOM_KMS_PREVIOUS is not valid JSON"


def test_import_recovery_reads_no_settings(env: Path) -> None:
    # A restore must not depend on the configuration: a broken one is not even read.
    result = CliRunner().invoke(
        app,
        ["kms", "import-recovery", "--output", str(env / "new.key")],
        input="not a share\n",
        env={"STRONGROOM_PORT": "abc"},
    )
    assert result.exit_code == 2
    line = one_line(result.stderr)
    assert line.startswith("error: ") and "STRONGROOM_PORT" not in line


def test_the_console_script_prints_one_line_too(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "access-keys", "list", STRONGROOM_PORT="abc")
    assert result.returncode == 2
    assert one_line(result.stderr).startswith("error: invalid settings: STRONGROOM_PORT: ")
    assert result.stdout == ""


def test_nested_locations_keep_their_path() -> None:
    with pytest.raises(ValidationError) as caught:
        Settings(
            port="x",
            oidc_issuers=[{"issuer": "https://id.example.com", "jwks_uri": 3}],
        )
    text = describe_settings_error(caught.value)
    assert "\n" not in text
    assert "STRONGROOM_PORT: " in text
    assert "STRONGROOM_OIDC_ISSUERS[0].jwks_uri: " in text


def test_missing_files_are_one_line_in_the_audit_format(env: Path) -> None:
    missing = env / "absent.pem"
    verify = CliRunner().invoke(app, ["audit", "verify", "--public-key", str(missing)])
    assert verify.exit_code == 2, verify.output
    assert one_line(verify.stderr) == (
        f"error: FileNotFoundError: [Errno 2] No such file or directory: '{missing}'"
    )
    offline = CliRunner().invoke(
        app, ["audit", "verify-export", str(env / "absent.jsonl"), "--public-key", str(missing)]
    )
    assert offline.exit_code == 2
    assert one_line(offline.stderr).startswith("error: FileNotFoundError: ")


def test_read_commands_create_nothing(env: Path) -> None:
    # No master key is made and nothing migrated: the key file's absence is the error.
    result = CliRunner().invoke(app, ["audit", "public-key"])
    assert result.exit_code == 2
    assert one_line(result.stderr).startswith("error: MasterKeyFileError: master key file")
    assert not (env / "strongroom.key").exists()
    with sqlite3.connect(env / "s.db") as db:
        assert db.execute("select count(*) from sqlite_master").fetchone() == (0,)


def test_full_opening_creates_the_key_migrates_and_records_the_operator(env: Path) -> None:
    made = CliRunner().invoke(app, ["access-keys", "create", "--role", "auditor"])
    assert made.exit_code == 0, made.output
    assert "created master key file" in made.stderr
    key_id = made.stdout.strip().split("_")[2]
    shown = CliRunner().invoke(app, ["access-keys", "show", key_id])
    assert json.loads(shown.stdout)["createdBy"] == "system:cli"

    # A domain error keeps today's plain format: "error: <message>", exit 2.
    missing = CliRunner().invoke(app, ["access-keys", "show", "a" * 16])
    assert missing.exit_code == 2
    assert one_line(missing.stderr).startswith("error: ") and "not found" in missing.stderr


def test_run_formats_expected_errors_and_lets_bugs_through(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async def not_found(_: Services) -> None:
        raise NotFound("no such thing")

    async def bug(_: Services) -> None:
        raise RuntimeError("a bug")

    create_master_key_file(env / "strongroom.key")
    for name_type, expected in ((False, "error: no such thing"), (True, "error: NotFound: ")):
        with pytest.raises(typer.Exit) as exited:
            run(not_found, opening=Opening.READ, name_type=name_type)
        assert exited.value.exit_code == 2
        assert one_line(capsys.readouterr().err).startswith(expected)
    with pytest.raises(RuntimeError, match="a bug"):
        run(bug, opening=Opening.READ)


def test_each_operator_action_gets_its_own_request_id() -> None:
    first, second = operator(), operator("tenant-a")
    assert (first.principal, first.tenant, second.tenant) == ("system:cli", "default", "tenant-a")
    assert first.request_id.startswith("cli-") and first.request_id != second.request_id
