"""Sessions and proxy tokens.

An approved request opens one session (once, by its requester), bound to the
principal, client, tool, key and audience, with a hard TTL: the duration asked,
never past the tenant's maximum. With it comes a proxy token ``srp_`` + 256 random
bits (base64url), shown once and stored only as its SHA-256, bound to the session,
key, hosts, methods, expiry and an optional number of uses.

``verify`` wants the token presented by the same principal that opened the session
(its own credentials authenticate the call; the token only narrows what it may do):
a token of another principal is refused like an unknown one. Every use is counted and
recorded under the request's id.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from strongroom.approvals import reach
from strongroom.approvals.contract import Grant, OpenedSession
from strongroom.approvals.errors import (
    OutsideGrant,
    RequestExpired,
    RequestNotApproved,
    RequestNotFound,
    SessionNotFound,
    TokenExhausted,
    TokenExpired,
    TokenRefused,
    TokenRevoked,
)
from strongroom.approvals.models import SessionView
from strongroom.approvals.policy import Policies
from strongroom.approvals.records import event, well_formed
from strongroom.audit.actions import ApprovalAction
from strongroom.audit.interfaces import AuditSink
from strongroom.audit.models import Outcome
from strongroom.context import Actor
from strongroom.errors import InvalidInput, StrongroomError
from strongroom.store import approvals_repo as repo
from strongroom.store.db import Database
from strongroom.store.models import McpProxyToken, McpSession

PREFIX = "srp_"
TOKEN_LENGTH = len(PREFIX) + 43  # 32 bytes, base64url without padding
MAX_USES = 1_000_000


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class SessionService:
    def __init__(self, db: Database, audit: AuditSink, policies: Policies, audience: str) -> None:
        self._db, self._audit, self._policies, self.audience = db, audit, policies, audience

    async def open(
        self, actor: Actor, request_id: str, *, max_uses: int | None = None
    ) -> OpenedSession:
        if max_uses is not None and not 1 <= max_uses <= MAX_USES:
            raise InvalidInput("maxUses out of range", field="maxUses", minimum=1, maximum=MAX_USES)
        now = datetime.now(UTC)
        if not well_formed(request_id):
            raise RequestNotFound()
        async with self._db.read() as s:
            row = await repo.request(s, actor.tenant, request_id)
        if row is None or row.requester != actor.principal:
            raise RequestNotFound()
        policy = await self._policies.current(actor.tenant)
        ttl = min(row.duration_seconds, policy.session_max_seconds)
        sid, token = secrets.token_hex(16), PREFIX + secrets.token_urlsafe(32)
        expires = now + timedelta(seconds=ttl)
        session = McpSession(
            id=sid,
            tenant_id=actor.tenant,
            request_id=row.id,
            principal=actor.principal,
            client_id=row.client_id,
            tool_id=row.tool_id,
            project=row.project,
            key_name=row.key_name,
            audience=self.audience,
            created_at=now,
            expires_at=expires,
            revoked_at=None,
            revoked_by=None,
        )
        proxy = McpProxyToken(
            tenant_id=actor.tenant,
            token_hash=token_hash(token),
            session_id=sid,
            project=row.project,
            key_name=row.key_name,
            hosts=list(row.hosts),
            methods=list(row.methods),
            expires_at=expires,
            uses_left=max_uses,
            last_used_at=None,
        )
        try:
            async with self._db.transaction() as s:
                if not await repo.claim_session(s, row.id, sid, now):
                    # Not approved, already opened (by a concurrent open too), or late.
                    late = row.status == "approved" and row.expires_at <= now
                    raise RequestExpired() if late else RequestNotApproved()
                s.add(session)
                await s.flush()
                s.add(proxy)
                opened = event(
                    actor,
                    ApprovalAction.SESSION_OPEN,
                    Outcome.SUCCESS,
                    row.id,
                    sessionId=sid,
                    clientId=row.client_id,
                    toolId=row.tool_id,
                    audience=self.audience,
                    ttlSeconds=ttl,
                    maxUses=max_uses,
                )
                self._audit.record_in(s, opened)
        except StrongroomError as exc:
            await self._audit.append(
                event(actor, ApprovalAction.SESSION_OPEN, Outcome.DENIED, row.id, code=exc.code)
            )
            raise
        return OpenedSession(sid, token, expires)

    async def verify(self, actor: Actor, token: str, *, host: str, method: str) -> Grant:
        now = datetime.now(UTC)
        found: tuple[McpProxyToken, McpSession] | None = None
        if token.startswith(PREFIX) and len(token) == TOKEN_LENGTH:
            async with self._db.read() as s:
                found = await repo.token_and_session(s, actor.tenant, token_hash(token))
        if found is None or found[1].principal != actor.principal:
            # Unknown and another principal's look the same to the caller; the record
            # says which (a handle used with someone else's credentials is an alarm).
            rid = found[1].request_id if found is not None else "-"
            why = "other-principal" if found is not None else "unknown"
            await self._audit.append(
                event(
                    actor,
                    ApprovalAction.TOKEN_USE,
                    Outcome.DENIED,
                    rid,
                    code=TokenRefused.code,
                    reason=why,
                )
            )
            raise TokenRefused()
        t, ses = found
        try:
            host, method = host.strip().lower(), method.strip().upper()
            if ses.revoked_at is not None:
                raise TokenRevoked()
            if min(ses.expires_at, t.expires_at) <= now:
                raise TokenExpired()
            if not reach.within(t.hosts, (host,)):
                raise OutsideGrant(field="host")
            if method not in t.methods:
                raise OutsideGrant(field="method")
            async with self._db.transaction() as s:
                if not await repo.use_token(s, t.id, now):
                    raise TokenExhausted()
                used = event(
                    actor,
                    ApprovalAction.TOKEN_USE,
                    Outcome.SUCCESS,
                    ses.request_id,
                    sessionId=ses.id,
                    host=host,
                    method=method,
                )
                self._audit.record_in(s, used)
        except StrongroomError as exc:
            await self._audit.append(
                event(
                    actor,
                    ApprovalAction.TOKEN_USE,
                    Outcome.DENIED,
                    ses.request_id,
                    code=exc.code,
                    sessionId=ses.id,
                )
            )
            raise
        return Grant(
            ses.id,
            ses.request_id,
            ses.tenant_id,
            ses.principal,
            t.project,
            t.key_name,
            tuple(t.hosts),
            tuple(t.methods),
            min(ses.expires_at, t.expires_at),
        )

    async def revoke(self, actor: Actor, session_id: str, *, own_only: bool) -> None:
        """End the session and its token now; revoking an ended one records nothing."""
        if not well_formed(session_id):
            raise SessionNotFound()
        async with self._db.read() as s:
            ses = await repo.session(s, actor.tenant, session_id)
        if ses is None or (own_only and ses.principal != actor.principal):
            raise SessionNotFound()
        async with self._db.transaction() as s:
            if await repo.revoke_session(s, ses.id, actor.principal, datetime.now(UTC)):
                done = event(
                    actor,
                    ApprovalAction.SESSION_REVOKE,
                    Outcome.SUCCESS,
                    ses.request_id,
                    sessionId=ses.id,
                    owner=ses.principal,
                )
                self._audit.record_in(s, done)

    async def get(self, actor: Actor, session_id: str, *, own_only: bool) -> SessionView:
        if not well_formed(session_id):
            raise SessionNotFound()
        async with self._db.read() as s:
            ses = await repo.session(s, actor.tenant, session_id)
        if ses is None or (own_only and ses.principal != actor.principal):
            raise SessionNotFound()
        return SessionView(
            ses.id,
            ses.request_id,
            ses.principal,
            ses.client_id,
            ses.project,
            ses.key_name,
            ses.audience,
            ses.created_at,
            ses.expires_at,
            ses.revoked_at,
        )
