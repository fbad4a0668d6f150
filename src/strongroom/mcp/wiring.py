"""The MCP edge's ports from the service container: the guard, the approvals domain
(access requests, sessions), the stored-key directory and the broker."""

from __future__ import annotations

from typing import Any

from strongroom.config import Settings
from strongroom.errors import ServiceUnavailable
from strongroom.mcp.ports import McpPorts
from strongroom.services.container import Services


class _NotWired:
    """Until the domain lands: every call answers 503 (never a silent success)."""

    def __getattr__(self, name: str) -> Any:
        async def unavailable(*_: Any, **__: Any) -> Any:
            raise ServiceUnavailable("not available yet")

        return unavailable


def mcp_ports(svc: Services, settings: Settings) -> McpPorts:
    # The approvals domain is looked up by name until it is merged into the container
    # (Services.approvals); then a direct attribute like the others.
    missing: Any = _NotWired()
    approvals = getattr(svc, "approvals", None)
    return McpPorts(
        guard=svc.guard,
        keys=svc.key_directory,
        requests=getattr(approvals, "requests", missing),
        sessions=getattr(approvals, "sessions", missing),
        broker=svc.broker,
        resource_url=settings.mcp.resource_url,
        max_body_bytes=settings.mcp.max_body_bytes,
    )


def issuers(settings: Settings) -> list[str]:
    return [i.issuer for i in settings.auth.oidc.issuers]
