"""The MCP server's tools. Each call: the transport's credentials → the guard
(authenticate, then the tool's permission) → one domain method → a result with no
secret value in it. A refusal is a tool error carrying the same stable code as the
REST API; anything unexpected is one opaque SYS001 (its text could hold anything)."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Annotated
from urllib.parse import urljoin, urlsplit

from mcp.server.mcpserver import Context, MCPServer
from mcp.types import CallToolResult, ToolAnnotations
from pydantic import Field

from strongroom import __version__
from strongroom.access.guard import Guard, RequestContext, records_settled, request_boundary
from strongroom.access.permissions import Permission
from strongroom.approvals.contract import (
    AccessAsk,
    OpenedSession,
    RequestStatus,
    RequestView,
    ToolIdentity,
)
from strongroom.approvals.errors import RequestNotFound, TokenRefused
from strongroom.credentials.contract import Narrowing
from strongroom.errors import (
    AuditUnavailable,
    Forbidden,
    InternalError,
    InvalidInput,
    StrongroomError,
)
from strongroom.mcp import elicit, outputs
from strongroom.mcp.ports import Caller, McpPorts
from strongroom.mcp.upstream import host_of, outbound

log = logging.getLogger(__name__)
_SHA256 = re.compile(r"[0-9a-f]{64}")
Run = Callable[[RequestContext], Awaitable[CallToolResult]]

INSTRUCTIONS = (
    "Strongroom brokers stored API keys: the agent gets a capability, never a key. "
    "list_keys shows what may be asked for; request_access asks (a human may have to "
    "approve at approval_url); check_request opens the session once approved and shows "
    "its proxy token once; call_upstream sends a request through the broker with it; "
    "revoke_session ends it."
)


def build_server(source: Callable[[], McpPorts], caller: Caller) -> MCPServer:
    """``source`` gives the ports at each call (the HTTP app may be handed another
    service container after it was built, as tests do)."""
    server: MCPServer = MCPServer(
        "strongroom", version=__version__, instructions=INSTRUCTIONS, log_level="WARNING"
    )

    async def call(ctx: Context, tool: str, run: Run) -> CallToolResult:
        """One tool call inside one request boundary: the tenant scope it chooses ends
        with it, and its result waits until its audit records are durable."""
        request = getattr(ctx.request_context, "request", None)
        with request_boundary() as held:
            rc: RequestContext | None = None
            try:
                rc = await caller.context(request)
                result = await run(rc)
            except StrongroomError as exc:
                if rc is not None:
                    await _record_refusal(rc, exc, tool)
                result = outputs.refused(exc)
            except Exception as exc:  # the text could hold anything: the type name only
                log.error("mcp tool %s failed: %s", tool, type(exc).__name__)
                result = outputs.refused(InternalError())
            if await records_settled(held) is not None:
                return outputs.refused(AuditUnavailable())
            return result

    async def _record_refusal(rc: RequestContext, exc: StrongroomError, tool: str) -> None:
        # The refusal stands either way; a failed write is reported by the audit writer.
        with contextlib.suppress(StrongroomError):
            await source().guard.record_rejected(rc.actor, exc.code, f"mcp:{tool}")

    read_only = ToolAnnotations(read_only_hint=True, open_world_hint=False)

    @server.tool(annotations=read_only)
    async def list_keys(ctx: Context) -> Annotated[CallToolResult, outputs.KeysOut]:
        """The stored API keys (projects, names, providers, hosts, tags, state) this
        caller may ask to use through request_access. Never a key's value."""

        async def run(rc: RequestContext) -> CallToolResult:
            ports = source()
            guard = ports.guard
            ask = Permission.MCP_REQUESTS_CREATE
            await guard.authorize(rc, ask, anywhere=True)
            await guard.record_read(rc, ask, "mcp:list_keys", None)
            # The keys it may ask for (names, never values), whether or not it may also
            # use them directly: an agent gets them through a session.
            keys = await ports.keys.usable(rc.actor, guard.reach(rc, ask))
            return outputs.ok(outputs.KeysOut(keys=[outputs.key_out(k) for k in keys]))

        return await call(ctx, "list_keys", run)

    @server.tool(annotations=ToolAnnotations(read_only_hint=False, open_world_hint=False))
    async def request_access(
        ctx: Context,
        tool: Annotated[str, Field(min_length=1, max_length=200, description="the tool")],
        tool_schema_sha256: Annotated[
            str, Field(description="hex SHA-256 of the tool's canonical input schema")
        ],
        project: Annotated[str, Field(min_length=1, max_length=200)],
        key: Annotated[str, Field(min_length=1, max_length=200)],
        hosts: Annotated[list[str], Field(min_length=1, max_length=20)],
        methods: Annotated[list[str], Field(min_length=1, max_length=7)],
        duration_seconds: Annotated[int, Field(ge=1, le=86400)],
        purpose: Annotated[str, Field(min_length=1, max_length=500)],
        client_id: Annotated[
            str | None, Field(max_length=200, description="default: the token's client")
        ] = None,
    ) -> Annotated[CallToolResult, outputs.RequestOut]:
        """Ask to use a stored key through the broker: which hosts and methods, for how
        long and why. Low risk may be approved at once (the session opens and its proxy
        token is in the result, shown once); otherwise a human approves it at
        approval_url and check_request opens the session."""

        async def run(rc: RequestContext) -> CallToolResult:
            ports = source()
            guard = ports.guard
            await guard.authorize(rc, Permission.MCP_REQUESTS_CREATE)
            if not _SHA256.fullmatch(tool_schema_sha256):
                raise InvalidInput("64 lower-case hex digits", field="tool_schema_sha256")
            token_client = rc.principal.client_id
            if client_id is not None and token_client is not None and client_id != token_client:
                raise Forbidden("client_id differs from the credentials' client")
            identity = ToolIdentity(tool, client_id or token_client or "-", tool_schema_sha256)
            ask = AccessAsk(
                identity,
                project,
                key,
                tuple(hosts),
                tuple(methods),
                duration_seconds,
                purpose,
            )
            view = _absolute(await ports.requests.create(rc.actor, ask), ports.resource_url)
            opened = None
            if view.status is RequestStatus.APPROVED and view.session_id is None:
                opened = await ports.sessions.open(rc.actor, view.request_id)
            elif view.status is RequestStatus.PENDING and view.approval_url:
                await elicit.approval(ctx, view)
            return outputs.ok(outputs.request_out(view, opened))

        return await call(ctx, "request_access", run)

    @server.tool(annotations=ToolAnnotations(read_only_hint=False, open_world_hint=False))
    async def check_request(
        ctx: Context, request_id: Annotated[str, Field(min_length=1, max_length=100)]
    ) -> Annotated[CallToolResult, outputs.RequestOut]:
        """The status of one of this caller's access requests. Once approved, the first
        check opens the session and shows its proxy token (srp_…) once."""

        async def run(rc: RequestContext) -> CallToolResult:
            ports = source()
            guard = ports.guard
            mine = await _scoped(guard, rc, Permission.MCP_REQUESTS_READ)
            view = _absolute(await ports.requests.get(rc.actor, request_id), ports.resource_url)
            if mine is not None and view.requester != mine:
                # Another principal's request does not exist for this caller.
                raise RequestNotFound()
            opened: OpenedSession | None = None
            own = view.requester == rc.actor.principal
            if own and view.status is RequestStatus.APPROVED and view.session_id is None:
                opened = await ports.sessions.open(rc.actor, view.request_id)
            return outputs.ok(outputs.request_out(view, opened))

        return await call(ctx, "check_request", run)

    @server.tool(annotations=ToolAnnotations(read_only_hint=False, open_world_hint=True))
    async def call_upstream(
        ctx: Context,
        session_id: Annotated[str, Field(min_length=1, max_length=100)],
        proxy_token: Annotated[str, Field(min_length=1, max_length=200, description="srp_…")],
        method: Annotated[str, Field(min_length=1, max_length=10)],
        url: Annotated[str, Field(min_length=1, max_length=4096)],
        headers: dict[str, str] | None = None,
        # Plain ``str`` (empty: none): the SDK parses a JSON-looking string argument
        # into an object unless its annotation is exactly ``str``.
        body: Annotated[str, Field(description="a text body (UTF-8)")] = "",
        body_base64: Annotated[str, Field(description="a binary body, base64")] = "",
    ) -> Annotated[CallToolResult, outputs.UpstreamOut]:
        """Send one HTTP request upstream through the broker with a session's proxy
        token: the broker adds the stored key; the answer comes back with the key's
        value scrubbed. The proxy token is never forwarded upstream."""

        async def run(rc: RequestContext) -> CallToolResult:
            ports = source()
            out = outbound(
                method,
                url,
                headers,
                body or None,
                body_base64 or None,
                proxy_token,
                ports.max_body_bytes,
            )
            grant = await ports.sessions.verify(
                rc.actor, proxy_token, host=host_of(url), method=out.method
            )
            if grant.session_id != session_id:
                # A handle never authenticates; it must name the token's own session
                # (refused like another principal's token: nothing is learnt).
                raise TokenRefused()
            narrowing = Narrowing(grant.hosts, grant.methods, grant.session_id)
            answer = await ports.broker.send(rc.actor, grant.project, grant.key, out, narrowing)
            return outputs.ok(outputs.upstream_out(answer))

        return await call(ctx, "call_upstream", run)

    @server.tool(annotations=ToolAnnotations(destructive_hint=True, open_world_hint=False))
    async def revoke_session(
        ctx: Context, session_id: Annotated[str, Field(min_length=1, max_length=100)]
    ) -> Annotated[CallToolResult, outputs.RevokedOut]:
        """End a session now: its proxy token stops working on every replica."""

        async def run(rc: RequestContext) -> CallToolResult:
            ports = source()
            guard = ports.guard
            mine = await _scoped(guard, rc, Permission.MCP_SESSIONS_REVOKE)
            await ports.sessions.revoke(rc.actor, session_id, own_only=mine is not None)
            return outputs.ok(outputs.RevokedOut(session_id=session_id))

        return await call(ctx, "revoke_session", run)

    return server


async def _scoped(guard: Guard, rc: RequestContext, permission: Permission) -> str | None:
    """None when ``permission`` is held for the whole tenant; else the caller's own id,
    when held for its own objects only (the ``mcp-agent`` role); neither: refused.
    The REST routes of the approvals domain decide the same way."""
    if rc.principal.can(permission, rc.actor.tenant):
        return None
    await guard.authorize(rc, permission, rc.principal.id)
    return rc.principal.id


def _absolute(view: RequestView, resource_url: str) -> RequestView:
    """The approvals page's URL as a user's browser needs it: a relative one
    (APPROVALS_APPROVAL_URL's default ``/approvals/{request_id}``) on this service's
    public origin, the resource URL's."""
    url = view.approval_url
    if url is None or urlsplit(url).scheme:
        return view
    return dataclasses.replace(view, approval_url=urljoin(resource_url, url))
