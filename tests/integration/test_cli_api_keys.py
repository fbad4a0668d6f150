"""``strongroom api-keys ...`` on the operator's host: values only from stdin, never
printed; the API's JSON."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from strongroom.cli import app

VALUE = "sk-cli-canary-7d2e"


def cli(*args: str, stdin: str | None = None, code: int = 0) -> str:
    result = CliRunner().invoke(app, list(args), input=stdin)
    assert result.exit_code == code, result.output
    assert VALUE not in result.output
    return "\n".join(line for line in result.stdout.splitlines() if " [info     ] " not in line)


def test_projects_keys_rotate_block_revoke(env: Path) -> None:
    cli("migrate")
    assert json.loads(cli("api-keys", "project-create", "billing"))["name"] == "billing"
    made = json.loads(
        cli("api-keys", "create", "billing", "stripe", "--host", "api.stripe.com", stdin=VALUE)
    )
    assert made["hosts"] == ["api.stripe.com"] and made["version"] == 1
    cli("api-keys", "create", "billing", "empty", stdin="\n", code=2)
    [listed] = [json.loads(line) for line in cli("api-keys", "list", "billing").splitlines()]
    assert listed["name"] == "stripe"
    rotated = json.loads(cli("api-keys", "rotate", "billing", "stripe", stdin=VALUE + "-2"))
    assert rotated["version"] == 2 and rotated["previousUntil"]
    assert json.loads(cli("api-keys", "block", "billing", "stripe"))["state"] == "blocked"
    assert json.loads(cli("api-keys", "unblock", "billing", "stripe"))["state"] == "active"
    assert json.loads(cli("api-keys", "revoke", "billing", "stripe"))["state"] == "revoked"
    cli("api-keys", "block", "billing", "stripe", code=2)  # APK007: one line, exit 2
