"""``strongroom secrets ...`` on the operator's host: the API's semantics and JSON."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import httpx
from typer.testing import CliRunner

from strongroom.api.app import create_app
from strongroom.cli import app
from strongroom.config import Settings
from strongroom.services.container import build_services
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


async def _redeem(*bodies: dict[str, Any]) -> list[tuple[int, Any]]:
    """POST /api/v1/shares/redeem with each body, through the app on the CLI's database."""
    settings = Settings()  # the environment the CLI ran with (the env fixture)
    svc = build_services(settings)
    await svc.start()
    try:
        transport = httpx.ASGITransport(app=create_app(settings, svc))
        async with httpx.AsyncClient(transport=transport, base_url="http://sr") as client:
            out = []
            for body in bodies:
                r = await client.post("/api/v1/shares/redeem", json=body)
                out.append((r.status_code, r.json()))
            return out
    finally:
        await svc.close()


def test_share_a_version_then_redeem_it_once(env: Path) -> None:
    path = "apps/billing/stripe"
    cli_ok("secrets", "put", path, "--field", "apiKey=sk-1")
    cli_ok("secrets", "put", path, "--field", "apiKey=sk-2")
    made = json.loads(cli_ok("secrets", "share", path, "--expires-in", "600"))
    assert made["share"]["source"] == {"path": path, "version": 2}  # current by default
    assert made["share"]["maxViews"] == 1 and made["share"]["state"] == "active"
    old = json.loads(
        cli_ok("secrets", "share", path, "--version", "1", "--expires-in", "600", "--views", "2")
    )
    first, again, older = asyncio.run(
        _redeem({"token": made["token"]}, {"token": made["token"]}, {"token": old["token"]})
    )
    assert first[0] == 200 and json.loads(first[1]["value"]) == {"apiKey": "sk-2"}
    assert again[0] == 404  # one view
    assert older[0] == 200 and json.loads(older[1]["value"]) == {"apiKey": "sk-1"}
    # A soft delete through the CLI ends version 1's share; undelete does not revive it.
    cli_ok("secrets", "delete", path, "--version", "1")
    cli_ok("secrets", "undelete", path, "--version", "1")
    ((after, _),) = asyncio.run(_redeem({"token": old["token"]}))
    assert after == 404


def test_share_with_a_passphrase_from_stdin(env: Path) -> None:
    cli_ok("secrets", "put", "a/b", "--field", "k=v")
    args = ["secrets", "share", "a/b", "--expires-in", "600", "--passphrase-stdin"]
    result = CliRunner().invoke(app, args, input="correct horse\n")
    assert result.exit_code == 0, result.output
    made = json.loads(result.stdout)
    assert made["share"]["passphrase"] is True and "correct horse" not in result.output
    wrong, right = asyncio.run(
        _redeem(
            {"token": made["token"], "passphrase": "nope"},
            {"token": made["token"], "passphrase": "correct horse"},
        )
    )
    assert wrong[0] == 403 and right[0] == 200
    assert json.loads(right[1]["value"]) == {"k": "v"}


def test_share_mistakes_are_one_line_and_create_nothing(env: Path) -> None:
    cli_ok("secrets", "put", "a/b", "--field", "k=v")
    for args in (
        ["secrets", "share", "a/missing", "--expires-in", "600"],
        ["secrets", "share", "a/b", "--version", "9", "--expires-in", "600"],
        ["secrets", "share", "a/b", "--expires-in", "999999999"],
    ):
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 2, (args, result.output)
        assert "Traceback" not in result.output
    result = CliRunner().invoke(app, ["secrets", "share", "a/b", "--expires-in", "5"])
    assert result.exit_code == 2  # below the minimum: refused by the option itself
    shares = asyncio.run(_count_shares())
    assert shares == 0


async def _count_shares() -> int:
    svc = build_services(Settings())
    await svc.start()
    try:
        views, _ = await svc.shares.list_shares("default", None, 100, None)
        return len(views)
    finally:
        await svc.close()
