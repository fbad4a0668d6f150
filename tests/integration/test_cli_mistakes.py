"""An operator's first-day mistakes at start-up and on the command line: each is one
line on stderr naming the setting or option, exit 2, never a traceback (issue #15,
item 15); plus ``--version``, a warning for unknown ``STRONGROOM_`` variables and no
migration chatter when nothing migrates."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

from strongroom.api.app import app_from_env
from strongroom.cli import app
from tests.integration.cli_support import one_line
from tests.integration.test_cli import CLI, cli_env, free_port, run_cli


def mistakes(tmp: Path) -> dict[str, tuple[dict[str, str], str]]:
    """name: (environment, the setting the one line must name)."""
    (tmp / "a-file").write_text("")
    refused = f"postgresql://strongroom:pw-4711@127.0.0.1:{free_port()}/strongroom"
    return {
        "key path is a directory": ({"STRONGROOM_MASTER_KEY_FILE": str(tmp)}, "MASTER_KEY_FILE"),
        "key path unusable": (
            {"STRONGROOM_MASTER_KEY_FILE": str(tmp / "a-file" / "k")},
            "STRONGROOM_MASTER_KEY_FILE",
        ),
        "malformed database url": ({"STRONGROOM_DATABASE_URL": "::nope"}, "DATABASE_URL"),
        "unknown database driver": ({"STRONGROOM_DATABASE_URL": "nope://x"}, "DATABASE_URL"),
        "unreachable database": ({"STRONGROOM_DATABASE_URL": refused}, "DATABASE_URL"),
        "sqlite in a missing directory": (
            {"STRONGROOM_DATABASE_URL": f"sqlite:///{tmp}/absent/dir/s.db"},
            "DATABASE_URL",
        ),
        "unknown kms": ({"STRONGROOM_KMS": "nope"}, "STRONGROOM_KMS"),
        "port not a number": ({"STRONGROOM_PORT": "abc"}, "STRONGROOM_PORT"),
        "unknown key type": ({"STRONGROOM_DEFAULT_KEY_TYPE": "rsa"}, "DEFAULT_KEY_TYPE"),
    }


@pytest.mark.parametrize("args", [["migrate"], ["audit", "public-key"]])
def test_each_start_up_mistake_is_one_line_naming_the_setting(env: Path, args: list[str]) -> None:
    for name, (bad, setting) in mistakes(env).items():
        result = CliRunner().invoke(app, args, env=bad)
        assert result.exit_code == 2, (name, result.output)
        line = one_line(result.stderr)
        assert line.startswith("error: ") and setting in line, (name, line)
        assert "pw-4711" not in result.output, name  # a password is never echoed
        assert not (env / "strongroom.key").exists(), name


def test_the_console_script_says_the_same(tmp_path: Path) -> None:
    for name, (bad, setting) in mistakes(tmp_path).items():
        result = run_cli(tmp_path, "access-keys", "list", **bad)
        assert result.returncode == 2, (name, result.stderr)
        assert setting in one_line(result.stderr), name
        assert result.stdout == ""


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["audit", "verify", "--from", "yesterday"], "--from"),
        (["audit", "verify", "--to", "31/12/2026"], "--to"),
        (["audit", "export", "-o", "x.jsonl", "--from", "yesterday"], "--from"),
        (["audit", "archive", "-o", ".", "--before", "last week"], "--before"),
    ],
)
def test_a_bad_time_option_is_one_line_naming_it(env: Path, args: list[str], option: str) -> None:
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    line = one_line(result.stderr)
    assert line.startswith(f"error: {option}: ") and "ISO" in line
    assert not (env / "strongroom.key").exists()  # refused before anything opened


def test_version(tmp_path: Path) -> None:
    from strongroom import __version__

    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout == f"strongroom {__version__}\n"
    script = run_cli(tmp_path, "--version", STRONGROOM_PORT="abc")  # reads no settings
    assert (script.returncode, script.stdout) == (0, f"strongroom {__version__}\n")


def test_unknown_variables_are_a_warning_line_each(env: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["access-keys", "list"],
        env={"STRONGROOM_PROT": "8080", "STRONGROOM_TEST_ANYTHING": "1"},
    )
    assert result.exit_code == 0, result.output
    line = one_line(result.stderr.replace(_created(env), ""))
    assert line == (
        "warning: STRONGROOM_PROT is not a setting and is ignored (did you mean STRONGROOM_PORT?)"
    )


def _created(env: Path) -> str:
    return f"created master key file {env / 'strongroom.key'} (mode 0600); back it up\n"


def test_no_migration_chatter_when_nothing_migrates(tmp_path: Path) -> None:
    first = run_cli(tmp_path, "migrate")
    assert "Running upgrade" in first.stderr  # real migrations are still told
    again = run_cli(tmp_path, "migrate")
    assert again.returncode == 0
    assert again.stderr == "database is up to date\n"
    listed = run_cli(tmp_path, "access-keys", "list")
    assert (listed.returncode, listed.stderr) == (0, "")


def test_a_second_serve_on_a_busy_port_is_one_line_without_a_banner(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        result = run_cli(tmp_path, "serve", "--host", "127.0.0.1", "--port", port)
    assert result.returncode == 2, result.stderr
    line = one_line(result.stderr)
    assert line.startswith(f"error: cannot listen on 127.0.0.1:{port} ") and "PORT" in line
    assert "listening" not in result.stderr and result.stdout == ""
    assert not (tmp_path / "strongroom.key").exists()  # nothing started
    assert CLI  # the real console script ran (test_cli.run_cli)


def test_the_worker_factory_prints_settings_errors_on_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    for name, value in cli_env(tmp_path, STRONGROOM_PORT="abc", STRONGROOM_KMS="x").items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as exited:
        app_from_env()
    assert exited.value.code == 2
    line = one_line(capsys.readouterr().err)
    assert "STRONGROOM_PORT" in line and "STRONGROOM_KMS" in line
