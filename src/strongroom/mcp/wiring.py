"""The MCP edge's ports from the service container: the guard, the approvals domain
(access requests, sessions), the stored-key directory and the broker."""

from __future__ import annotations

from strongroom.config import Settings
from strongroom.mcp.ports import McpPorts
from strongroom.services.container import Services


def mcp_ports(svc: Services, settings: Settings) -> McpPorts:
    return McpPorts(
        guard=svc.guard,
        keys=svc.key_directory,
        requests=svc.approvals.requests,
        sessions=svc.approvals.sessions,
        broker=svc.broker,
        resource_url=settings.mcp.resource_url,
        max_body_bytes=settings.mcp.max_body_bytes,
    )


def issuers(settings: Settings) -> list[str]:
    return [i.issuer for i in settings.auth.oidc.issuers]
