"""``strongroom mcp`` over stdio, spawned by the SDK's own client: it acts with the
access key (or token) in its environment, checked by the guard on every call; stdout
carries nothing but MCP messages; the key never appears in what it answers."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, StdioServerParameters
from mcp.types import CallToolResult

from strongroom.kms.local import create_master_key_file
from strongroom.services.container import build_services
from strongroom.store.tenancy import enter_system_scope
from tests.api.conftest import make_settings

STRONGROOM = str(Path(sys.executable).with_name("strongroom"))


def params(env: dict[str, str]) -> StdioServerParameters:
    return StdioServerParameters(command=STRONGROOM, args=["mcp"], env=env)


def error_code(r: CallToolResult) -> str | None:
    if not r.is_error:
        return None
    assert isinstance(r.structured_content, dict), r.content
    return str(r.structured_content["error"]["code"])


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_stdio_server_acts_with_the_key_in_its_environment(
    database_url: str, tmp_path: Path
) -> None:
    settings = make_settings(database_url, tmp_path)
    create_master_key_file(settings.kms.master_key_file)
    services = build_services(settings)
    enter_system_scope()
    await services.start()
    _, key = await services.access.create("default", ["admin"], "stdio agent")
    await services.close()
    env: dict[str, Any] = {
        "STRONGROOM_DATABASE_URL": database_url,
        "STRONGROOM_MASTER_KEY_FILE": str(settings.kms.master_key_file),
        "STRONGROOM_AUDIT_FLUSH_INTERVAL_MS": "0",
        "STRONGROOM_LOG_LEVEL": "debug",
        "PYTHONPATH": os.pathsep.join(sys.path),
    }
    async with Client(params({**env, "STRONGROOM_API_KEY": key})) as c:
        names = {t.name for t in (await c.list_tools()).tools}
        assert {"list_keys", "request_access", "call_upstream"} <= names
        listed = await c.call_tool("list_keys", {})
        assert error_code(listed) != "AUTH001"
        assert key not in listed.model_dump_json()
        bad = await c.call_tool("request_access", {"tool": "x"})  # the SDK's own validation
        assert bad.is_error
    async with Client(params({**env, "STRONGROOM_API_KEY": "srk_live_not-a-key"})) as c:
        assert error_code(await c.call_tool("list_keys", {})) == "AUTH001"
    # The service's audit trail names the stdio agent's reads.
    services = build_services(settings)
    await services.start()
    async with services.db.read() as s:
        from sqlalchemy import select

        from strongroom.store.models import AuditRecord

        rows = list((await s.execute(select(AuditRecord))).scalars())
    await services.close()
    reads = [r for r in rows if (r.detail or {}).get("route") == "mcp:list_keys"]
    assert reads and reads[0].request_id.startswith("mcp-")
    assert [r for r in rows if r.action == "auth.api_key" and r.outcome == "failure"]


def test_readme_client_configurations_name_what_exists() -> None:
    """The README's mcpServers blocks: stdio starts this command with settings the
    service reads; HTTP names the /mcp endpoint with an access-key header."""
    import json
    import re

    from strongroom.config.legacy import CLIENT_VARIABLES, ENV_NAMES

    readme = (Path(__file__).parents[2] / "README.md").read_text()
    blocks = [
        json.loads(b)["mcpServers"]["strongroom"]
        for b in re.findall(r"```json\n(.*?)```", readme, re.S)
        if "mcpServers" in b
    ]
    stdio, http = blocks
    assert stdio["command"] == "strongroom" and stdio["args"] == ["mcp"]
    assert set(stdio["env"]) <= set(ENV_NAMES.values()) | CLIENT_VARIABLES
    assert http["type"] == "http" and http["url"].endswith("/mcp")
    assert set(http["headers"]) == {"X-API-Key"}
