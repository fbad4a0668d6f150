"""``strongroom secrets ...`` on the operator's host: the API's semantics and JSON."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from strongroom.cli import app
from tests.integration.test_cli_json import api_get
from tests.integration.test_cli_json import cli_ok as cli_out

CAMEL = re.compile(r"[a-z][A-Za-z0-9]*")


def cli_ok(*args: str, code: int = 0) -> str:
    """stdout without the log lines structlog prints there when logging is left
    unconfigured (the env fixture): the first seal logs its new tenant data key."""
    out = cli_out(*args, code=code)
    return "\n".join(line for line in out.splitlines() if " [info     ] " not in line)


def _keys(doc: Any) -> set[str]:
    if isinstance(doc, dict):
        return set(doc) | {k for v in doc.values() if not isinstance(v, str) for k in _keys(v)}
    if isinstance(doc, list):
        return {k for v in doc for k in _keys(v)}
    return set()


def test_put_get_list_delete_undelete_destroy(env: Path) -> None:
    path = "apps/billing/stripe"
    made = json.loads(cli_ok("secrets", "put", path, "--field", "apiKey=sk-1", "--cas", "0"))
    assert made["metadata"]["version"] == 1
    cli_ok("secrets", "put", path, "--data", '{"apiKey": "sk-2", "region": "eu"}')
    cli_ok("secrets", "put", path, "--patch", "--data", '{"region": null}')
    got = json.loads(cli_ok("secrets", "get", path))
    assert got["data"] == {"apiKey": "sk-2"} and got["metadata"]["version"] == 3
    assert json.loads(cli_ok("secrets", "get", path, "--version", "1"))["data"] == {
        "apiKey": "sk-1"
    }
    # a lost check-and-set is one line on stderr and exit 2
    failed = CliRunner().invoke(app, ["secrets", "put", path, "--field", "a=b", "--cas", "1"])
    assert failed.exit_code == 2 and "check-and-set" in failed.output
    cli_ok("secrets", "put", "apps/shop/x", "--field", "k=v")
    assert cli_ok("secrets", "list", "--prefix", "apps/billing/").split() == [path]
    assert json.loads(cli_ok("secrets", "delete", path))["versions"] == [3]
    cli_ok("secrets", "get", path, code=2)
    assert json.loads(cli_ok("secrets", "undelete", path, "--version", "3"))["versions"] == [3]
    assert json.loads(cli_ok("secrets", "destroy", path, "--version", "1"))["versions"] == [1]
    meta = json.loads(cli_ok("secrets", "get", path, "--metadata"))
    assert [v["state"] for v in meta["versions"]] == ["destroyed", "live", "live"]
    cli_ok("secrets", "delete", path, "--all")
    assert cli_ok("secrets", "list").split() == ["apps/shop/x"]


def test_the_cli_prints_what_the_api_answers(env: Path) -> None:
    admin = cli_ok("access-keys", "create", "--role", "admin").strip()
    cli_ok("secrets", "put", "a/b", "--field", "k=v")
    shown = json.loads(cli_ok("secrets", "get", "a/b"))
    meta = json.loads(cli_ok("secrets", "get", "a/b", "--metadata"))
    api, api_meta = asyncio.run(
        api_get(admin, "/api/v1/secrets/data/a/b", "/api/v1/secrets/metadata/a/b")
    )
    assert shown == api
    assert _keys(meta) == _keys(api_meta)
    assert all(CAMEL.fullmatch(k) for k in _keys(shown) | _keys(meta) if k != "k")
