"""Sign-in sessions of the approvals page (api/routers/approvals_page.py), kept in the
database so that every worker and replica behind a load balancer sees the same ones
(issue #19): a sign-in on one replica is honoured by all, a logout on one ends the
session on all at once.

The browser holds only a random 256-bit id (in a cookie, api/approvals_session.py);
the table keeps its SHA-256, never the id and never the credential signed in with.
With it: the principal exactly as the guard resolved it at sign-in (id, tenant, role
names, the grants those names resolved to, own key, client), so the page acts with
the same authority on every replica without the credential (a bearer token cannot be
checked again without it). A revoked access key therefore keeps its page session
until it ends (at most the TTL), as before; every action is still authorized by the
guard against that principal.

The forms' synchronizer token is stored as is: it authorizes nothing without the
session cookie, whose id the table does not hold, so a reader of the table learns
nothing usable from it, and storing it keeps the token independent of the id.

Sessions last ``ttl`` (15 min) from sign-in and are never renewed; a principal keeps
at most ``per_principal`` of them (the oldest give way). Expired rows are refused by
every lookup and deleted when a session opens and by the job ``approvals.expire``.

Row-level security: a session is looked up by its hash before its tenant is known,
so lookups and deletions run in system scope, as authentication looks up an access
key (access/guard.py); a new row is written in its own tenant's scope.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from strongroom.access.models import Principal
from strongroom.access.roles import loaded_grant, stored_grant
from strongroom.store import page_sessions_repo as repo
from strongroom.store.db import Database
from strongroom.store.models import ApprovalPageSession
from strongroom.store.tenancy import isolated_scope, set_tenant, system_scope

TTL_SECONDS = 15 * 60
PER_PRINCIPAL = 20
MAX_ID = 128  # longer cookies are not ours: refused before hashing


@dataclass(frozen=True)
class PageSession:
    principal: Principal
    tenant: str
    csrf: str = field(repr=False)
    expires: datetime


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def principal_doc(p: Principal) -> dict[str, Any]:
    """A principal as the table keeps it: everything its authority depends on."""
    return {
        "id": p.id,
        "tenant": p.tenant,
        "roles": list(p.roles),
        "grants": sorted((stored_grant(g) for g in p.grants), key=lambda g: sorted(g.items())),
        "own_key": p.own_key,
        "client_id": p.client_id,
    }


def principal_of(doc: dict[str, Any]) -> Principal:
    grants = frozenset(loaded_grant(g) for g in doc["grants"])
    return Principal(
        doc["id"],
        doc["tenant"],
        tuple(doc["roles"]),
        grants,
        doc["own_key"],
        client_id=doc["client_id"],
    )


def _utcnow() -> datetime:
    return datetime.now(UTC)


class PageSessions:
    def __init__(
        self,
        db: Database,
        ttl: float = TTL_SECONDS,
        per_principal: int = PER_PRINCIPAL,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self._db, self._ttl, self._keep, self._now = db, ttl, per_principal, clock

    async def open(self, principal: Principal, tenant: str) -> tuple[str, PageSession]:
        """A new session: (the id for the cookie, the session)."""
        now = self._now()
        sid, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        session = PageSession(principal, tenant, csrf, now + timedelta(seconds=self._ttl))
        who = digest(principal.id)
        with system_scope():
            async with self._db.transaction() as s:
                await repo.purge(s, now)
        with isolated_scope():
            set_tenant(tenant)
            async with self._db.transaction() as s:
                await repo.trim(s, tenant, who, self._keep - 1)
                row = ApprovalPageSession(
                    session_hash=digest(sid),
                    tenant_id=tenant,
                    principal_hash=who,
                    principal=principal_doc(principal),
                    csrf=csrf,
                    created_at=now,
                    expires_at=session.expires,
                )
                await repo.insert(s, row)
        return sid, session

    async def get(self, sid: str | None) -> PageSession | None:
        """The live session of this id, else None (unknown, expired or logged out)."""
        if not sid or len(sid) > MAX_ID:
            return None
        with system_scope():
            async with self._db.read() as s:
                row = await repo.live(s, digest(sid), self._now())
        if row is None:
            return None
        return PageSession(principal_of(row.principal), row.tenant_id, row.csrf, row.expires_at)

    async def close(self, sid: str | None) -> None:
        """End the session everywhere (its row is gone for every replica)."""
        if not sid or len(sid) > MAX_ID:
            return
        with system_scope():
            async with self._db.transaction() as s:
                await repo.remove(s, digest(sid))

    async def purge(self, now: datetime) -> int:
        """Delete expired sessions (run by the job ``approvals.expire``)."""
        with system_scope():
            async with self._db.transaction() as s:
                return await repo.purge(s, now)
