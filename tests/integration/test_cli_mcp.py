"""``strongroom mcp-tools ...`` and ``strongroom mcp-requests ...`` on the operator's
host: the registry and human decisions with the API's JSON; mistakes are one line on
stderr with exit 2."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from typer.testing import CliRunner

from strongroom.approvals.contract import AccessAsk, ToolIdentity
from strongroom.approvals.digest import schema_sha256
from strongroom.cli import app
from strongroom.config import Settings
from strongroom.context import Actor
from strongroom.services.container import build_services
from strongroom.store.tenancy import enter_system_scope
from tests.api.approvals_helpers import Facts
from tests.integration.test_cli_secrets import cli_ok

SCHEMA = {"type": "object", "properties": {"q": {"type": "string"}}}


async def _ask(sha: str, key: str) -> str:
    """An agent's request, through the services (the MCP server's path)."""
    enter_system_scope()
    svc = build_services(Settings())
    await svc.start()
    # An explicit double of the stored keys' facts (no key is stored here).
    svc.approvals.requests.keys = svc.approvals.requests.anomalies = Facts({key: "high"})
    try:
        ask = AccessAsk(
            ToolIdentity("search", "client-1", sha),
            "p",
            key,
            ("api.example.com",),
            ("GET",),
            300,
            "x",
        )
        return (
            await svc.approvals.requests.create(Actor("agent", "default", "r", None), ask)
        ).request_id
    finally:
        await svc.close()


def test_register_approve_list_decide(env: Path) -> None:
    schema = env / "schema.json"
    schema.write_text(json.dumps(SCHEMA))
    tool = json.loads(
        cli_ok(
            "mcp-tools",
            "register",
            "search",
            "--client-id",
            "client-1",
            "--host",
            "api.example.com",
            "--method",
            "get",
            "--schema-file",
            str(schema),
            "--tier",
            "trusted",
        )
    )
    assert (tool["status"], tool["schemaSha256"], tool["methods"]) == (
        "pending",
        schema_sha256(SCHEMA),
        ["GET"],
    )
    assert json.loads(cli_ok("mcp-tools", "approve", str(tool["id"])))["status"] == "approved"
    listed = [json.loads(line) for line in cli_ok("mcp-tools", "list").splitlines()]
    assert [t["name"] for t in listed] == ["search"]
    first = asyncio.run(_ask(tool["schemaSha256"], "k1"))
    second = asyncio.run(_ask(tool["schemaSha256"], "k2"))
    pending = [json.loads(line)["id"] for line in cli_ok("mcp-requests", "list").splitlines()]
    assert sorted(pending) == sorted([first, second])
    assert json.loads(cli_ok("mcp-requests", "approve", first))["status"] == "approved"
    bad = CliRunner().invoke(app, ["mcp-requests", "approve", second, "--digest", "00" * 32])
    assert bad.exit_code == 2 and "approval does not match the request" in bad.output
    assert len(bad.output.strip().splitlines()) == 1
    denied = json.loads(cli_ok("mcp-requests", "deny", second, "--reason", "not now"))
    assert denied["status"] == "denied"
    assert cli_ok("mcp-requests", "list").strip() == ""
    again = CliRunner().invoke(app, ["mcp-requests", "deny", second, "--reason", "x"])
    assert again.exit_code == 2 and "already decided" in again.output
    assert json.loads(cli_ok("mcp-tools", "suspend", str(tool["id"])))["status"] == "suspended"
    none = CliRunner().invoke(
        app, ["mcp-tools", "register", "x", "--client-id", "c", "--host", "h", "--method", "GET"]
    )
    assert none.exit_code == 2 and "--schema-file or --schema-sha256" in none.output
