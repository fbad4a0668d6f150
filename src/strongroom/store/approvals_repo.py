"""SQL for MCP approvals (approvals/). Functions take the caller's session (and its
transaction); the conditional updates (decide, open, use a token) are what keep a
decision and a session single-use under concurrency."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from strongroom.store.models import (
    McpDecision,
    McpPolicy,
    McpProxyToken,
    McpRequest,
    McpSession,
    McpTool,
)

# tools -------------------------------------------------------------------


async def tool_by_identity(
    s: AsyncSession, tenant: str, name: str, client_id: str
) -> McpTool | None:
    q = select(McpTool).where(
        McpTool.tenant_id == tenant, McpTool.name == name, McpTool.client_id == client_id
    )
    return (await s.execute(q)).scalar_one_or_none()


async def tool(s: AsyncSession, tenant: str, tool_id: int) -> McpTool | None:
    q = select(McpTool).where(McpTool.tenant_id == tenant, McpTool.id == tool_id)
    return (await s.execute(q)).scalar_one_or_none()


async def tools(s: AsyncSession, tenant: str, limit: int, after: int | None) -> list[McpTool]:
    q = select(McpTool).where(McpTool.tenant_id == tenant).order_by(McpTool.id).limit(limit)
    if after is not None:
        q = q.where(McpTool.id > after)
    return list((await s.execute(q)).scalars())


# policies ----------------------------------------------------------------


async def policy(s: AsyncSession, tenant: str) -> McpPolicy | None:
    q = (
        select(McpPolicy)
        .where(McpPolicy.tenant_id == tenant)
        .order_by(McpPolicy.version.desc())
        .limit(1)
    )
    return (await s.execute(q)).scalar_one_or_none()


async def policies(s: AsyncSession, tenant: str, limit: int, before: int | None) -> list[McpPolicy]:
    """Stored versions, newest first; ``before``: only versions below it (paging)."""
    q = (
        select(McpPolicy)
        .where(McpPolicy.tenant_id == tenant)
        .order_by(McpPolicy.version.desc())
        .limit(limit)
    )
    if before is not None:
        q = q.where(McpPolicy.version < before)
    return list((await s.execute(q)).scalars())


# requests ----------------------------------------------------------------


async def request(s: AsyncSession, tenant: str, request_id: str) -> McpRequest | None:
    q = select(McpRequest).where(McpRequest.tenant_id == tenant, McpRequest.id == request_id)
    return (await s.execute(q)).scalar_one_or_none()


async def pending(s: AsyncSession, tenant: str, limit: int, after: str | None) -> list[McpRequest]:
    q = (
        select(McpRequest)
        .where(McpRequest.tenant_id == tenant, McpRequest.status == "pending")
        .order_by(McpRequest.id)
        .limit(limit)
    )
    if after is not None:
        q = q.where(McpRequest.id > after)
    return list((await s.execute(q)).scalars())


async def denials_since(s: AsyncSession, tenant: str, requester: str, since: datetime) -> int:
    q = select(func.count()).where(
        McpRequest.tenant_id == tenant,
        McpRequest.requester == requester,
        McpRequest.status.in_(("denied", "expired")),
        McpRequest.created_at >= since,
    )
    return int((await s.execute(q)).scalar_one())


async def set_status(s: AsyncSession, request_id: str, old: str, new: str, now: datetime) -> bool:
    """Move a request from ``old`` to ``new`` if it is still ``old`` (one winner)."""
    done = await s.execute(
        update(McpRequest)
        .where(McpRequest.id == request_id, McpRequest.status == old)
        .values(status=new, decided_at=now)
    )
    return bool(getattr(done, "rowcount", 0) == 1)


async def claim_session(s: AsyncSession, request_id: str, session_id: str, now: datetime) -> bool:
    """Bind the approved request to its one session, if it has none yet and is live."""
    done = await s.execute(
        update(McpRequest)
        .where(
            McpRequest.id == request_id,
            McpRequest.status == "approved",
            McpRequest.session_id.is_(None),
            McpRequest.expires_at > now,
        )
        .values(session_id=session_id)
    )
    return bool(getattr(done, "rowcount", 0) == 1)


async def due(s: AsyncSession, now: datetime, limit: int) -> list[McpRequest]:
    """Pending requests past their deadline, in every tenant (system scope)."""
    q = (
        select(McpRequest)
        .where(McpRequest.status == "pending", McpRequest.expires_at <= now)
        .order_by(McpRequest.expires_at)
        .limit(limit)
    )
    return list((await s.execute(q)).scalars())


async def decisions(s: AsyncSession, request_id: str) -> list[McpDecision]:
    q = select(McpDecision).where(McpDecision.request_id == request_id).order_by(McpDecision.id)
    return list((await s.execute(q)).scalars())


# sessions and tokens -----------------------------------------------------


async def session(s: AsyncSession, tenant: str, session_id: str) -> McpSession | None:
    q = select(McpSession).where(McpSession.tenant_id == tenant, McpSession.id == session_id)
    return (await s.execute(q)).scalar_one_or_none()


async def token_and_session(
    s: AsyncSession, tenant: str, token_hash: str
) -> tuple[McpProxyToken, McpSession] | None:
    """A token by its hash with its session, in one round trip (every broker call)."""
    q = (
        select(McpProxyToken, McpSession)
        .join(McpSession, McpSession.id == McpProxyToken.session_id)
        .where(McpProxyToken.tenant_id == tenant, McpProxyToken.token_hash == token_hash)
    )
    row = (await s.execute(q)).first()
    return (row[0], row[1]) if row is not None else None


async def use_token(s: AsyncSession, token_id: int, now: datetime) -> bool:
    """Count one use of a live token (one statement: of concurrent uses of a token
    with ``n`` uses left, at most ``n`` succeed)."""
    limited = update(McpProxyToken).where(
        McpProxyToken.id == token_id, McpProxyToken.expires_at > now
    )
    row = await s.execute(limited.where(McpProxyToken.uses_left.is_(None)).values(last_used_at=now))
    if getattr(row, "rowcount", 0) == 1:
        return True
    row = await s.execute(
        limited.where(McpProxyToken.uses_left > 0).values(
            uses_left=McpProxyToken.uses_left - 1, last_used_at=now
        )
    )
    return bool(getattr(row, "rowcount", 0) == 1)


async def revoke_session(s: AsyncSession, session_id: str, by: str, now: datetime) -> bool:
    done = await s.execute(
        update(McpSession)
        .where(McpSession.id == session_id, McpSession.revoked_at.is_(None))
        .values(revoked_at=now, revoked_by=by)
    )
    return bool(getattr(done, "rowcount", 0) == 1)
