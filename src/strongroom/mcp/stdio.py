"""``strongroom mcp``: the same tools over stdio, for an agent on this machine. The
process acts with the credentials it was started with (``STRONGROOM_API_KEY``, or an
OIDC token in ``STRONGROOM_TOKEN`` issued for this server's resource URL), checked by
the guard on every tool call; stdout carries only MCP messages (logs go to stderr)."""

from __future__ import annotations

from strongroom.mcp.ports import FixedCredentials, McpPorts, quiet_sdk_logs
from strongroom.mcp.tools import build_server


async def serve_stdio(
    ports: McpPorts, *, api_key: str | None, bearer: str | None, tenant: str | None
) -> None:
    quiet_sdk_logs()
    caller = FixedCredentials(
        ports.guard, api_key=api_key, bearer=bearer, tenant=tenant, audience=ports.resource_url
    )
    await build_server(lambda: ports, caller).run_stdio_async()
