"""What the MCP tools need (the domains' contracts, the guard) and how a tool call learns
who is calling (``Caller``): each transport has its own way to present credentials, the
guard decides for all of them."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from strongroom.access.guard import Guard, Presented, RequestContext
from strongroom.approvals.contract import AccessRequests, Sessions
from strongroom.context import Actor
from strongroom.credentials.contract import BrokerPort, KeySummary
from strongroom.errors import AuthenticationFailed

# The SDK's and its SSE library's DEBUG lines carry whole MCP messages: tool arguments
# and results, among them a proxy token shown once. Their own level is set, so that a
# service run at DEBUG still leaves them out; their warnings and errors still show.
CHATTY_LOGGERS = ("mcp", "sse_starlette")


def quiet_sdk_logs() -> None:
    for name in CHATTY_LOGGERS:
        logger = logging.getLogger(name)
        logger.setLevel(max(logger.level, logging.WARNING))


# Where the HTTP gate (mcp/http.py) leaves the context it authenticated, in the ASGI
# scope's state of the request that carries the tool call.
CONTEXT_KEY = "strongroom.mcp.context"


class KeyListing(Protocol):
    """The stored keys' ``KeyDirectory`` (credentials/contract.py) as this edge calls
    it: with its own ``reach`` (the request's principal), never the directory's guess."""

    async def usable(
        self, actor: Actor, reach: Callable[[str], bool] | None = None
    ) -> list[KeySummary]: ...


@dataclass(frozen=True)
class McpPorts:
    guard: Guard
    keys: KeyListing
    requests: AccessRequests
    sessions: Sessions
    broker: BrokerPort
    resource_url: str
    max_body_bytes: int = 1_048_576


class Caller(Protocol):
    async def context(self, request: Any) -> RequestContext:
        """The authenticated context of one tool call; ``request`` is the transport's
        request object (the HTTP request, None over stdio and in process)."""
        ...


class FixedCredentials:
    """stdio and in-process clients: the credentials the process was started with,
    authenticated by the guard on every tool call (a revoked key stops working at once).
    A bearer token must name this server's resource, as over HTTP."""

    def __init__(
        self,
        guard: Guard,
        *,
        api_key: str | None = None,
        bearer: str | None = None,
        tenant: str | None = None,
        audience: str | None = None,
    ) -> None:
        self._guard = guard
        self._api_key, self._bearer, self._tenant, self._audience = (
            api_key,
            bearer,
            tenant,
            audience,
        )

    def __repr__(self) -> str:  # never the credentials
        return "FixedCredentials(...)"

    async def context(self, request: Any) -> RequestContext:
        presented = Presented(
            f"mcp-{uuid.uuid4().hex[:16]}",
            None,
            self._api_key,
            self._bearer,
            self._tenant,
            audience=self._audience,
        )
        return await self._guard.authenticate(presented)


class FromHttpGate:
    """Streamable HTTP: the gate authenticated the request that carries the call (and
    answered 401 otherwise); the call runs in the session's task, so the tenant scope
    is entered again there."""

    def __init__(self, guard: Callable[[], Guard]) -> None:
        self._guard = guard

    async def context(self, request: Any) -> RequestContext:
        scope = getattr(request, "scope", None)
        ctx = (scope or {}).get("state", {}).get(CONTEXT_KEY) if scope is not None else None
        if not isinstance(ctx, RequestContext):
            raise AuthenticationFailed()
        self._guard().resume(ctx)
        return ctx
