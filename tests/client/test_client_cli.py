"""``strongroom client ...`` through the SDK against a real service; and the one line
it prints when the SDK is not installed."""

from __future__ import annotations

import json
import re
import sys
import uuid

import pytest
from typer.testing import CliRunner

from strongroom.cli import app
from strongroom.config import unknown_variables
from strongroom_client import ServiceKey
from tests.client.conftest import ThreadServer
from tests.integration.test_cli import run_cli

runner = CliRunner()
# The test service runs in this process, and its access log (structlog's default
# printer) writes to whatever sys.stdout is: during invoke(), the runner's capture.
SERVICE_LOG = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} \[\w+\s*\] ")


def own_output(text: str) -> str:
    return "".join(line for line in text.splitlines(True) if not SERVICE_LOG.match(line))


def test_client_commands_round_trip(service: ThreadServer, admin_key: str) -> None:
    env = {"STRONGROOM_ADDR": service.addr, "STRONGROOM_API_KEY": admin_key}

    def cli(*args: str, stdin: str | None = None) -> str:
        result = runner.invoke(app, ["client", *args], env=env, input=stdin)
        assert result.exit_code == 0, result.output
        return own_output(result.stdout)

    user = f"cli-{uuid.uuid4().hex[:8]}"
    assert json.loads(cli("keys", "create", user))["userId"] == user
    pem = cli("service-key")
    assert pem.startswith("-----BEGIN PUBLIC KEY-----")
    env["STRONGROOM_SERVICE_KEY"] = pem
    ct = cli("encrypt", user, "--context", "c", stdin="first\nsecond\n").split()
    offline = cli("encrypt-offline", user, "third", "--context", "c").split()
    assert len(ct) == 2 and len(offline) == 1
    assert cli("decrypt", user, "--context", "c", *ct, *offline).splitlines() == [
        "first",
        "second",
        "third",
    ]
    rotated = cli("rotate", user, "--reason", "compliance", "--context", "c", *ct).split()
    assert all(r.startswith("sr:v2:") for r in rotated)
    rewrapped = cli("rewrap", user, "--context", "c", *offline).split()
    assert rewrapped[0].startswith("sr:v2:")
    assert cli("decrypt", user, "--context", "c", *rotated, *rewrapped).split() == [
        "first",
        "second",
        "third",
    ]
    tokens = cli("blind-index", "email", "A@x", "a@x", "--user-id", user, "--normalize", "case")
    assert len(set(tokens.split())) == 1
    assert json.loads(cli("keys", "show", user))["currentVersion"] == 2
    assert len(cli("keys", "history", user).splitlines()) == 2
    assert json.loads(cli("keys", "public", user))["version"] == 2
    assert json.loads(cli("health"))["status"] == "ready"

    missing = runner.invoke(app, ["client", "keys", "show", "nobody-" + user], env=env)
    assert missing.exit_code == 2
    assert missing.stderr.strip().startswith("error: KEY001 404: key not found")


def test_without_the_sdk_one_line_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "strongroom_client", None)  # import fails
    result = runner.invoke(app, ["client", "--addr", "http://127.0.0.1:1", "health"])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "pip install strongroom-client" in lines[0]


def test_client_variables_draw_no_unknown_setting_warning() -> None:
    env = {"STRONGROOM_ADDR": "http://x", "STRONGROOM_API_KEY": "k", "STRONGROOM_ADR": "y"}
    warnings = unknown_variables(env)
    assert len(warnings) == 1 and warnings[0].startswith("warning: STRONGROOM_ADR ")


def test_statement_key_from_the_database_matches_the_route(
    service: ThreadServer, service_key: str
) -> None:
    # A subprocess: in this process the command would configure logging for the test
    # service's thread too (to the runner's streams, closed after invoke()).
    result = run_cli(service.tmp, "keys", "statement-key")
    assert result.returncode == 0, result.stderr
    assert ServiceKey.load(result.stdout).key_id == ServiceKey.load(service_key).key_id
    assert result.stderr.startswith("key id ")
