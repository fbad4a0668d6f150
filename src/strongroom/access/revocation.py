"""Bearer tokens revoked by ``jti`` before they expire.

Rows live in the database (``revoked_tokens``); each replica checks a snapshot of
the unexpired ones held in memory and reloaded at most every ``refresh`` seconds,
so a revocation takes effect at once on the replica that made it and within
``refresh`` seconds on every other one, without a database read per request.
Only SHA-256(issuer NUL jti) is stored or held.

A revocation belongs to a tenant and refuses a token only while it acts in that
tenant (``scope``): an administrator of one tenant can never lock another tenant's
users out. Tokens of an issuer bound to one tenant act there, so only that tenant
(or a principal spanning tenants) may revoke them; tokens of an issuer with a
``tenant_claim`` act in the tenant they name, so a tenant's revocation refuses the
token only when it names that tenant, and a principal spanning tenants revokes it
in all of them (``*``: a jti names one token, whichever tenant it claims).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from strongroom.audit.actions import TokenAction
from strongroom.audit.interfaces import AuditSink
from strongroom.audit.models import AuditEvent, Outcome
from strongroom.caching import SingleFlight
from strongroom.config import OidcIssuer
from strongroom.context import Actor
from strongroom.store import tokens_repo
from strongroom.store.db import Database
from strongroom.store.models import RevokedToken

# Rows are still loaded this long after the token's expiry (covers issuer leeway).
_AFTER_EXPIRY = timedelta(minutes=10)
EVERY_TENANT = "*"  # not a tenant id: those are [A-Za-z0-9._-]
_ALL = "all"  # the snapshot's one cache key
Snapshot = frozenset[tuple[str, str]]  # (token id, tenant)


def token_id(issuer: str, jti: str) -> str:
    return hashlib.sha256(f"{issuer}\0{jti}".encode()).hexdigest()


def scope(issuer: OidcIssuer, acting_tenant: str, spans_tenants: bool) -> str | None:
    """The tenant a revocation of ``issuer``'s token applies to, when made by a
    principal acting in ``acting_tenant``; None when it may not revoke that token."""
    if issuer.tenant_claim is not None:
        return EVERY_TENANT if spans_tenants else acting_tenant
    if spans_tenants or issuer.tenant == acting_tenant:
        return issuer.tenant
    return None


class RevokedTokens:
    def __init__(self, db: Database, audit: AuditSink, refresh: float = 5.0) -> None:
        self._db, self._audit = db, audit
        # One snapshot, reloaded by one read however many requests want it, ahead of
        # its expiry while in use; never served ``refresh`` s after its read started.
        self._snapshot: SingleFlight[str, Snapshot] = SingleFlight(
            ttl=refresh, maxsize=1, name="revoked_tokens"
        )

    async def is_revoked(self, issuer: str, jti: str, tenant: str) -> bool:
        """Is the token revoked in ``tenant``, the one it acts in?"""
        ids = await self._snapshot.get(_ALL, self._load)
        tid = token_id(issuer, jti)
        return (tid, tenant) in ids or (tid, EVERY_TENANT) in ids

    async def _load(self) -> Snapshot:
        since = datetime.now(UTC) - _AFTER_EXPIRY
        async with self._db.read() as s:
            return await tokens_repo.unexpired(s, since)

    async def close(self) -> None:
        await self._snapshot.close()

    async def revoke(
        self, actor: Actor, issuer: str, jti: str, tenant: str, expires_at: datetime | None
    ) -> bool:
        """Revoke in ``tenant`` (``scope``); False when it already was. Audited in the
        same transaction."""
        tid = token_id(issuer, jti)
        async with self._db.transaction() as s:
            existing = await tokens_repo.get(s, tid, tenant)
            if existing is None:
                tokens_repo.add(
                    s,
                    RevokedToken(
                        id=tid,
                        issuer=issuer,
                        expires_at=expires_at,
                        revoked_at=datetime.now(UTC),
                        revoked_by=actor.principal,
                        tenant_id=tenant,
                    ),
                )
            event = AuditEvent(
                actor,
                TokenAction.REVOKE,
                Outcome.SUCCESS,
                target=tid[:16],
                detail={"new": not existing, "scope": tenant},
            )
            self._audit.record_in(s, event)
        # At once here: the next check reads a snapshot that holds it (a read in
        # flight now started before the commit and is not kept).
        self._snapshot.forget(_ALL)
        return existing is None
