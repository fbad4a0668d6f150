"""``strongroom mcp``: serve the MCP tools over stdio (mcp/stdio.py)."""

from __future__ import annotations

import os

from strongroom.cli.runner import Opening, fail, load_settings, run
from strongroom.mcp.stdio import serve_stdio
from strongroom.mcp.wiring import mcp_ports
from strongroom.services.container import Services


def mcp() -> None:
    """Serve the MCP tools over stdio for a local agent. Credentials come from the
    environment: STRONGROOM_API_KEY (an access key) or STRONGROOM_TOKEN (an OIDC token
    issued for STRONGROOM_MCP_RESOURCE_URL); STRONGROOM_TENANT names a tenant for a
    principal spanning tenants. The database must already be migrated."""
    api_key = os.environ.get("STRONGROOM_API_KEY") or None
    token = os.environ.get("STRONGROOM_TOKEN") or None
    if api_key is None and token is None:
        fail("error: set STRONGROOM_API_KEY or STRONGROOM_TOKEN for `strongroom mcp`")
    settings = load_settings()

    async def work(svc: Services) -> None:
        await svc.start(migrate=False)  # the audit segment and the access-key pepper
        ports = mcp_ports(svc, settings)
        tenant = os.environ.get("STRONGROOM_TENANT") or None
        await serve_stdio(ports, api_key=api_key, bearer=token, tenant=tenant)

    run(work, opening=Opening.READ, settings=settings)
