"""``strongroom mcp-policy show|set|versions`` on the operator's host: the API's JSON
(camelCase), check-and-set, and a mistake as one line naming the option, exit 2."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from strongroom.cli import app
from tests.integration.test_cli_secrets import cli_ok


def _fails(*args: str) -> str:
    r = CliRunner().invoke(app, list(args))
    assert r.exit_code == 2, r.output
    assert r.exception is None or isinstance(r.exception, SystemExit)
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.output, r.output
    return lines[0]


def test_show_set_and_history(env: Path) -> None:
    shown = json.loads(cli_ok("mcp-policy", "show"))
    assert (shown["version"], shown["threshold"], shown["createdBy"]) == (0, 30, None)
    one = json.loads(cli_ok("mcp-policy", "set", "--threshold", "10", "--second-approver"))
    assert (one["version"], one["threshold"], one["secondApprover"]) == (1, 10, True)
    assert one["durationCapSeconds"] == shown["durationCapSeconds"]  # kept
    assert one["createdBy"] == "system:cli"
    two = cli_ok("mcp-policy", "set", "--business-end-hour", "20", "--expected-version", "1")
    assert (json.loads(two)["version"], json.loads(two)["businessEndHour"]) == (2, 20)
    assert json.loads(cli_ok("mcp-policy", "show"))["version"] == 2
    listed = [json.loads(line) for line in cli_ok("mcp-policy", "versions").splitlines()]
    assert [(v["version"], v["threshold"]) for v in listed] == [(2, 10), (1, 10)]
    # Mistakes: one line each, naming the option; nothing stored.
    stale = _fails("mcp-policy", "set", "--threshold", "5", "--expected-version", "1")
    assert "policy changed since it was read" in stale
    assert "--threshold" in _fails("mcp-policy", "set", "--threshold", "102")
    assert "--duration-cap-seconds" in _fails("mcp-policy", "set", "--duration-cap-seconds", "1")
    hours = _fails("mcp-policy", "set", "--business-start-hour", "21")
    assert "--business-end-hour" in hours
    assert "give at least one option" in _fails("mcp-policy", "set")
    assert json.loads(cli_ok("mcp-policy", "show"))["version"] == 2
    other = json.loads(cli_ok("mcp-policy", "show", "--tenant", "acme"))
    assert other["version"] == 0
