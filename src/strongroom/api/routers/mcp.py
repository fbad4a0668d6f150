"""MCP access for AI agents over REST: the tool registry (``/api/v1/mcp/tools``),
access requests and their human decisions (``/api/v1/mcp/requests``), session
revocation (``/api/v1/mcp/sessions``) and the tenant's versioned policy
(``/api/v1/mcp/policy``). The MCP server (mcp/) calls the same services.

Approving and denying are enforced by the service whatever the grants: the requester
never decides its own request, and a decision covers the request's ``digest``.
``mcp-requests:read`` and ``mcp-sessions:revoke`` held at ``own`` scope cover only
the caller's own requests and sessions.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request

from strongroom.access.guard import RequestContext
from strongroom.access.permissions import Permission
from strongroom.api.approval_schemas import (
    ApproveToolRequest,
    CreateRequestRequest,
    DecideRequest,
    DenyRequest,
    RegisterToolRequest,
    RequestOut,
    RequestPage,
    RevokedOut,
    ToolOut,
    ToolPage,
)
from strongroom.api.deps import api_key_header, app_services, authenticate, require, services
from strongroom.api.policy_schemas import PolicyChange, PolicyOut, PolicyPage
from strongroom.approvals.contract import AccessAsk, ToolIdentity
from strongroom.approvals.digest import schema_sha256
from strongroom.approvals.models import NewTool, ToolTier
from strongroom.context import Actor
from strongroom.services.container import Services

router = APIRouter(prefix="/api/v1/mcp", tags=["mcp"])
Svc = Annotated[Services, Depends(services)]
ToolIdPath = Annotated[int, Path(ge=1, le=2**53, examples=[1])]
HEX32 = r"^[0-9a-f]{32}$"
RequestIdPath = Annotated[str, Path(pattern=HEX32, examples=["5f" * 16])]
SessionIdPath = Annotated[str, Path(pattern=HEX32, examples=["6e" * 16])]
Scoped = tuple[Services, RequestContext, str | None]


def _scoped(permission: Permission) -> Callable[..., Awaitable[Scoped]]:
    """(services, context, None) when ``permission`` is held for the whole tenant, else
    (…, the caller's own id) when held for its own objects only; neither: 403."""

    async def dependency(
        request: Request, _doc: Annotated[str | None, Depends(api_key_header)] = None
    ) -> Scoped:
        svc = app_services(request)
        ctx = await authenticate(request, svc)
        mine: str | None = None
        if not ctx.principal.can(permission, ctx.actor.tenant):
            await svc.guard.authorize(ctx, permission, ctx.principal.id)
            mine = ctx.principal.id
        if request.method == "GET":
            route = getattr(request.scope.get("route"), "path", "-")
            await svc.guard.record_read(
                ctx, permission, route, request.path_params.get("requestId")
            )
        return svc, ctx, mine

    return dependency


@router.post("/tools", status_code=201, response_model=ToolOut)
async def register_tool(
    body: RegisterToolRequest,
    svc: Svc,
    actor: Annotated[Actor, Depends(require(Permission.MCP_TOOLS_REGISTER))],
) -> ToolOut:
    """Register a tool (pending until approved): its pinned input schema, the hosts and
    methods it may reach, its tier. Its annotations are kept as hints only."""
    sha = body.schemaSha256 or schema_sha256(body.inputSchema or {})
    new = NewTool(
        body.name,
        body.clientId,
        sha,
        tuple(body.hosts),
        tuple(body.methods),
        ToolTier(body.tier),
        body.annotations,
    )
    return ToolOut.of(await svc.approvals.tools.register(actor, new))


@router.get("/tools", response_model=ToolPage)
async def list_tools(
    svc: Svc,
    actor: Annotated[Actor, Depends(require(Permission.MCP_TOOLS_READ))],
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[int | None, Query(ge=0, le=2**53)] = None,
) -> ToolPage:
    tools, after = await svc.approvals.tools.list(actor.tenant, limit, cursor)
    return ToolPage(tools=[ToolOut.of(t) for t in tools], nextCursor=after)


@router.get("/tools/{toolId}", response_model=ToolOut)
async def get_tool(
    toolId: ToolIdPath,
    svc: Svc,
    actor: Annotated[Actor, Depends(require(Permission.MCP_TOOLS_READ))],
) -> ToolOut:
    return ToolOut.of(await svc.approvals.tools.get(actor.tenant, toolId))


@router.post("/tools/{toolId}/approve", response_model=ToolOut)
async def approve_tool(
    toolId: ToolIdPath,
    body: ApproveToolRequest,
    svc: Svc,
    actor: Annotated[Actor, Depends(require(Permission.MCP_TOOLS_APPROVE))],
) -> ToolOut:
    """Approve (or re-approve after a schema change, pinning ``schemaSha256``)."""
    return ToolOut.of(await svc.approvals.tools.approve(actor, toolId, body.schemaSha256))


@router.post("/tools/{toolId}/suspend", response_model=ToolOut)
async def suspend_tool(
    toolId: ToolIdPath,
    svc: Svc,
    actor: Annotated[Actor, Depends(require(Permission.MCP_TOOLS_SUSPEND))],
) -> ToolOut:
    return ToolOut.of(await svc.approvals.tools.suspend(actor, toolId))


@router.post("/requests", status_code=201, response_model=RequestOut)
async def create_request(
    body: CreateRequestRequest,
    svc: Svc,
    actor: Annotated[Actor, Depends(require(Permission.MCP_REQUESTS_CREATE))],
) -> RequestOut:
    """Ask for a stored key: scored at once; approved when the policy allows it, else
    pending (``approvalUrl`` says where a human decides)."""
    t = body.tool
    ask = AccessAsk(
        ToolIdentity(t.name, t.clientId, t.schemaSha256.lower()),
        body.project,
        body.key,
        tuple(body.hosts),
        tuple(body.methods),
        body.durationSeconds,
        body.purpose,
    )
    return RequestOut.of(await svc.approvals.requests.create(actor, ask))


@router.get("/requests", response_model=RequestPage)
async def list_pending(
    c: Annotated[Scoped, Depends(_scoped(Permission.MCP_REQUESTS_READ))],
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Query(pattern=HEX32)] = None,
) -> RequestPage:
    """Pending requests, oldest id first (only the caller's own at ``own`` scope)."""
    svc, ctx, mine = c
    views, after = await svc.approvals.requests.list_pending(ctx.actor.tenant, limit, cursor)
    if mine is not None:
        views = [v for v in views if v.requester == mine]
    return RequestPage(requests=[RequestOut.of(v) for v in views], nextCursor=after)


@router.get("/requests/{requestId}", response_model=RequestOut)
async def get_request(
    requestId: RequestIdPath,
    c: Annotated[Scoped, Depends(_scoped(Permission.MCP_REQUESTS_READ))],
) -> RequestOut:
    svc, ctx, mine = c
    return RequestOut.of(await svc.approvals.requests.get(ctx.actor, requestId, requester=mine))


@router.post("/requests/{requestId}/approve", response_model=RequestOut)
async def approve_request(
    requestId: RequestIdPath,
    body: DecideRequest,
    svc: Svc,
    actor: Annotated[Actor, Depends(require(Permission.MCP_REQUESTS_APPROVE))],
) -> RequestOut:
    """Approve exactly what the request's ``digest`` covers (never one's own request)."""
    view = await svc.approvals.requests.decide(actor, requestId, True, body.reason, body.digest)
    return RequestOut.of(view)


@router.post("/requests/{requestId}/deny", response_model=RequestOut)
async def deny_request(
    requestId: RequestIdPath,
    body: DenyRequest,
    svc: Svc,
    actor: Annotated[Actor, Depends(require(Permission.MCP_REQUESTS_APPROVE))],
) -> RequestOut:
    view = await svc.approvals.requests.decide(actor, requestId, False, body.reason, body.digest)
    return RequestOut.of(view)


@router.post("/sessions/{sessionId}/revoke", response_model=RevokedOut)
async def revoke_session(
    sessionId: SessionIdPath,
    c: Annotated[Scoped, Depends(_scoped(Permission.MCP_SESSIONS_REVOKE))],
) -> RevokedOut:
    """End the session and its proxy token now (idempotent)."""
    svc, ctx, mine = c
    await svc.approvals.sessions.revoke(ctx.actor, sessionId, own_only=mine is not None)
    return RevokedOut(sessionId=sessionId)


@router.get("/policy", response_model=PolicyOut)
async def get_policy(
    svc: Svc,
    actor: Annotated[Actor, Depends(require(Permission.MCP_POLICY_READ))],
) -> PolicyOut:
    """The policy new requests are scored under (version 0: the configured default)."""
    return PolicyOut.of(await svc.approvals.policies.show(actor.tenant))


@router.put("/policy", response_model=PolicyOut)
async def put_policy(
    body: PolicyChange,
    svc: Svc,
    actor: Annotated[Actor, Depends(require(Permission.MCP_POLICY_WRITE))],
) -> PolicyOut:
    """Store the next version: the fields given, the current version's for the rest.
    ``expectedVersion``: only if it is still the current one (else 409 ``APR020``)."""
    done = await svc.approvals.policies.change(actor, body.changes(), body.expectedVersion)
    return PolicyOut.of(done)


@router.get("/policy/versions", response_model=PolicyPage)
async def list_policy_versions(
    svc: Svc,
    actor: Annotated[Actor, Depends(require(Permission.MCP_POLICY_READ))],
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> PolicyPage:
    """Stored versions, newest first (version 0, the default, is never stored);
    ``cursor``: the ``nextCursor`` of the previous page."""
    views, after = await svc.approvals.policies.versions(actor.tenant, limit, cursor)
    return PolicyPage(versions=[PolicyOut.of(v) for v in views], nextCursor=after)
