"""Streamable HTTP at ``/mcp``: an OAuth 2.0 resource server in front of the SDK's
transport, and its RFC 9728 protected-resource metadata.

The gate authenticates every request with the access guard (``X-API-Key``, or a bearer
token whose ``aud`` names this server's resource URL: RFC 8707; the REST API's
audiences do not count here) before the SDK parses anything, and answers a failure
with 401 and ``WWW-Authenticate: Bearer resource_metadata="…"`` so that a client can
discover where to get a token. The SDK's own bearer middleware is not used: it would
see neither access keys nor the audience. The client's credentials stay here: the
broker is handed the stored key, never a header of this request.

The SDK serves both protocol eras from one endpoint: 2026-07-28 requests are single
exchanges, 2025-11-25 clients get an ``Mcp-Session-Id`` session held in this process
(behind a load balancer they need session affinity; docs/mcp.md).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from urllib.parse import urlsplit

from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from strongroom.access.guard import Presented
from strongroom.config import McpSettings, Settings
from strongroom.errors import AuthenticationFailed, StrongroomError
from strongroom.mcp.ports import CONTEXT_KEY, FromHttpGate, McpPorts, quiet_sdk_logs
from strongroom.mcp.tools import build_server
from strongroom.mcp.wiring import issuers, mcp_ports
from strongroom.services.container import Services

PATH = "/mcp"
METADATA_ROOT = "/.well-known/oauth-protected-resource"
_LOOPBACK = ("127.0.0.1:*", "localhost:*", "[::1]:*")


def build_edge(services: Callable[[], Services], settings: Settings) -> McpHttp:
    """The edge over the service container's domains (mcp/wiring.py); ``services``
    gives the app's current container."""
    return McpHttp(lambda: mcp_ports(services(), settings), settings.mcp, issuers(settings))


def metadata_path(resource_url: str) -> str:
    """RFC 9728 section 3.1: the well-known prefix, then the resource's path."""
    path = urlsplit(resource_url).path.rstrip("/")
    return METADATA_ROOT + path


class McpHttp:
    """The ASGI endpoint (mounted at ``/mcp`` by api/app.py) and the metadata document.
    ``running()`` must be entered by the hosting app's lifespan (the SDK's session
    manager: a mounted app's own lifespan never runs)."""

    def __init__(
        self, ports: Callable[[], McpPorts], settings: McpSettings, issuers: list[str]
    ) -> None:
        quiet_sdk_logs()
        self._ports, self.resource = ports, settings.resource_url
        self.server: MCPServer = build_server(ports, FromHttpGate(lambda: ports().guard))
        self._inner: ASGIApp = self.server.streamable_http_app(
            streamable_http_path=PATH,
            transport_security=_transport_security(settings),
            max_request_body_size=settings.max_body_bytes * 2,
        )
        base = _origin(self.resource)
        self.metadata_url = base + metadata_path(self.resource)
        self._metadata = json.dumps(
            {
                "resource": self.resource,
                "authorization_servers": settings.authorization_servers or issuers,
                "bearer_methods_supported": ["header"],
                "resource_name": "Strongroom MCP server",
                "resource_documentation": base + "/docs",
            }
        ).encode()
        self._challenge = f'Bearer resource_metadata="{self.metadata_url}"'.encode()

    def running(self) -> AbstractAsyncContextManager[None]:
        return self.server.session_manager.run()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._inner(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        presented = _presented(scope, state.get("request_id"), self.resource)
        try:
            ctx = await self._ports().guard.authenticate(presented)
        except AuthenticationFailed as exc:
            await self._error(send, exc, presented.request_id, challenge=True)
            return
        except StrongroomError as exc:
            await self._error(send, exc, presented.request_id, challenge=False)
            return
        # As the REST edge keeps it (api/deps.py): the access line and RateLimit headers.
        state[CONTEXT_KEY] = state["context"] = ctx
        state["rate_limit"] = ctx.quota
        await self._inner(scope, receive, send)

    async def metadata(self, request: Request) -> Response:
        """The RFC 9728 document (a request/response endpoint: no credentials)."""
        headers = {"cache-control": "public, max-age=3600"}
        return Response(self._metadata, media_type="application/json", headers=headers)

    async def _error(self, send: Send, exc: StrongroomError, rid: str, *, challenge: bool) -> None:
        body = {"success": False, "error": {"code": exc.code, "message": exc.text}}
        headers = [(b"content-type", b"application/json")]
        if challenge:
            headers.append((b"www-authenticate", self._challenge))
        extra: dict[str, str] = getattr(exc, "headers", None) or {}
        headers += [(k.lower().encode(), v.encode()) for k, v in extra.items()]
        await send({"type": "http.response.start", "status": exc.status, "headers": headers})
        await send({"type": "http.response.body", "body": json.dumps(body).encode()})


def _presented(scope: Scope, request_id: str | None, audience: str) -> Presented:
    found: dict[bytes, str] = {}
    for name, value in scope["headers"]:
        if name in (b"authorization", b"x-api-key", b"x-tenant-id") and name not in found:
            found[name] = value.decode("latin-1")
    scheme, _, token = (found.get(b"authorization") or "").partition(" ")
    client = scope.get("client")
    return Presented(
        request_id or f"mcp-{uuid.uuid4().hex[:16]}",
        client[0] if client else None,
        found.get(b"x-api-key"),
        token.strip() if scheme.lower() == "bearer" else None,
        found.get(b"x-tenant-id"),
        audience=audience,
    )


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _transport_security(settings: McpSettings) -> TransportSecuritySettings:
    """DNS-rebinding protection: the resource URL's host, loopback, and the configured
    extra hosts; browsers' Origin likewise."""
    parts = urlsplit(settings.resource_url)
    hosts = {parts.netloc, f"{parts.hostname}:*", *_LOOPBACK, *settings.allowed_hosts}
    origins = {f"{parts.scheme}://{h}" for h in hosts}
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=sorted(hosts),
        allowed_origins=sorted(origins),
    )
