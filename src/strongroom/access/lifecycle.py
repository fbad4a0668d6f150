"""Access-key lifecycle: create, list, show, rotate (with a grace period), revoke.

Authorization beyond the route's permission happens here, on the key's own row:

* a key of another tenant does not exist for a principal bound to its tenant (404,
  the same answer as a missing id);
* a principal hands out, rotates or revokes only keys whose roles it covers itself
  (``rbac.covers``): otherwise a tenant admin could mint a super admin, or rotate a
  stronger key of its tenant and so learn that key's new secret.

Every change commits with its audit record (``record_in``). A rotation keeps the key
id and gives it a new secret; the previous secret keeps working until the grace
period ends. Rotating again inside the grace ends the older secret at once (only one
previous secret is kept). Other replicas trust a cached key row for at most
``access_key_cache_ttl_seconds``, which bounds how long a revoked key or an ended
grace can still be accepted there; a new secret works at once everywhere (a replica
that finds no match in its cached row reads the row again).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from strongroom.access import tokens
from strongroom.access.models import Principal
from strongroom.access.permissions import Permission
from strongroom.access.rbac import covers
from strongroom.access.roles import RoleService
from strongroom.access.usage import UsageBuffer
from strongroom.access.views import AccessKeyState, AccessKeyView, state_of
from strongroom.audit.actions import AccessKeyAction, AuthzAction
from strongroom.audit.interfaces import AuditSink
from strongroom.audit.models import AuditEvent, Outcome
from strongroom.context import Actor
from strongroom.errors import (
    AccessKeyConflict,
    AccessKeyInactive,
    Forbidden,
    InvalidInput,
    NotFound,
)
from strongroom.store import access_repo
from strongroom.store.db import Database
from strongroom.store.models import AccessKey

# The CLI and the bootstrap act with the operator's authority (they hold the database).
SYSTEM = Principal("system:cli", "default", ("super-admin",))


class AccessKeyAdmin:
    def __init__(
        self,
        db: Database,
        audit: AuditSink,
        usage: UsageBuffer,
        hash_secret: Callable[[str], bytes],
        forget: Callable[[str], None],
        env: str,
        grace_seconds: float,
        roles: RoleService,
    ) -> None:
        self._db, self._audit, self._usage = db, audit, usage
        self._hash, self._forget, self._env = hash_secret, forget, env
        self.default_grace = grace_seconds
        self._roles = roles

    async def create(
        self,
        actor: Actor,
        who: Principal,
        tenant: str,
        roles: list[str],
        description: str = "",
        expires_at: datetime | None = None,
    ) -> tuple[AccessKeyView, str]:
        """A new key in ``tenant``; returns its view and the full key (shown only once)."""
        now = datetime.now(UTC)
        if expires_at is not None and expires_at.astimezone(UTC) <= now:
            raise InvalidInput("expiry must be in the future")
        actor = dataclasses.replace(actor, tenant=tenant)
        if not who.can(Permission.ACCESS_KEYS_CREATE, tenant):
            await self._deny(actor, Permission.ACCESS_KEYS_CREATE, None)
            raise NotFound()
        # Only now: the list of the tenant's roles is for those who may act there.
        if not roles or await self._roles.unknown(tenant, roles):
            known = [r.name for r in await self._roles.list_roles(tenant)]
            raise InvalidInput("unknown role", roles=known)
        await self._require_cover(actor, who, roles, AccessKeyAction.CREATE, None)
        text, parsed = tokens.generate(self._env)
        row = AccessKey(
            id=parsed.key_id,
            tenant_id=tenant,
            roles=list(roles),
            description=description[:500],
            secret_hash=self._hash(parsed.secret),
            created_at=now,
            expires_at=expires_at,
            created_by=actor.principal,
        )
        async with self._db.transaction() as s:
            access_repo.add(s, row)
            detail = {"roles": list(roles), "expires": expires_at is not None}
            # The description is free text: the trail keeps only its keyed HMAC.
            event = AuditEvent(
                actor,
                AccessKeyAction.CREATE,
                Outcome.SUCCESS,
                parsed.key_id,
                detail=detail,
                private={"description": description[:500]},
            )
            self._audit.record_in(s, event)
        return AccessKeyView.of(row, now), text

    async def list_keys(
        self, who: Principal, tenant: str | None, limit: int, after: str | None
    ) -> tuple[list[AccessKeyView], str | None]:
        """One page ordered by id, and the cursor of the next page (None: last page).
        Without ``tenant``, a principal bound to one tenant sees its own, one spanning
        tenants sees all."""
        if tenant is not None and not who.can(Permission.ACCESS_KEYS_READ, tenant):
            raise NotFound()
        if tenant is None and not who.spans_tenants:
            tenant = who.tenant
        async with self._db.read() as s:
            rows = await access_repo.page(s, tenant, limit + 1, after)
        now = datetime.now(UTC)
        views = [AccessKeyView.of(r, now, self._usage.pending(r.id)) for r in rows[:limit]]
        return views, (rows[limit - 1].id if len(rows) > limit else None)

    async def show(self, actor: Actor, who: Principal, key_id: str) -> AccessKeyView:
        row = await self._visible(actor, who, Permission.ACCESS_KEYS_READ, key_id)
        return AccessKeyView.of(row, datetime.now(UTC), self._usage.pending(key_id))

    async def rotate(
        self, actor: Actor, who: Principal, key_id: str, grace_seconds: float | None = None
    ) -> tuple[AccessKeyView, str]:
        """A new secret for the key; the previous one works ``grace_seconds`` longer."""
        grace = self.default_grace if grace_seconds is None else grace_seconds
        row = await self._visible(actor, who, Permission.ACCESS_KEYS_ROTATE, key_id)
        actor = dataclasses.replace(actor, tenant=row.tenant_id)
        await self._require_cover(actor, who, row.roles, AccessKeyAction.ROTATE, key_id)
        now = datetime.now(UTC)
        if state_of(row, now) is not AccessKeyState.ACTIVE:
            raise AccessKeyInactive()
        text, parsed = tokens.generate(self._env, key_id)
        values = {
            "secret_hash": self._hash(parsed.secret),
            "previous_secret_hash": row.secret_hash,
            "previous_valid_until": now + timedelta(seconds=grace),
            "rotated_at": now,
        }
        async with self._db.transaction() as s:
            # Compare-and-set on the secret read above: of two concurrent rotations
            # one wins, the other gets ACC002 instead of a key that never worked.
            if not await access_repo.rotate_secret(s, key_id, row.secret_hash, **values):
                raise AccessKeyConflict()
            self._record(s, actor, AccessKeyAction.ROTATE, key_id, {"grace_seconds": grace})
        self._forget(key_id)
        for name, value in values.items():
            setattr(row, name, value)
        return AccessKeyView.of(row, now, self._usage.pending(key_id)), text

    async def revoke(self, actor: Actor, who: Principal, key_id: str) -> AccessKeyView:
        """Both secrets stop at once on this replica, on the others within the cache TTL.
        Revoking a revoked key changes nothing and records nothing."""
        row = await self._visible(actor, who, Permission.ACCESS_KEYS_REVOKE, key_id)
        actor = dataclasses.replace(actor, tenant=row.tenant_id)
        await self._require_cover(actor, who, row.roles, AccessKeyAction.REVOKE, key_id)
        now = datetime.now(UTC)
        if row.revoked_at is None:
            async with self._db.transaction() as s:
                if await access_repo.revoke(s, key_id, now):
                    self._record(s, actor, AccessKeyAction.REVOKE, key_id, None)
            self._forget(key_id)
            row = await self._visible(actor, who, Permission.ACCESS_KEYS_REVOKE, key_id)
        return AccessKeyView.of(row, now, self._usage.pending(key_id))

    # helpers ---------------------------------------------------------------
    async def _visible(
        self, actor: Actor, who: Principal, perm: Permission, key_id: str
    ) -> AccessKey:
        async with self._db.read() as s:
            row = await access_repo.get(s, key_id)
        if row is None:
            raise NotFound()
        if not who.can(perm, row.tenant_id):
            await self._deny(actor, perm, None)  # no target: the id is not the caller's
            raise NotFound()
        return row

    async def _require_cover(
        self,
        actor: Actor,
        who: Principal,
        roles: list[str],
        action: AccessKeyAction,
        target: str | None,
    ) -> None:
        wanted = await self._roles.resolve(actor.tenant, roles)
        if not covers(who.grants, wanted):
            await self._audit.append(
                AuditEvent(actor, action, Outcome.DENIED, target=target, detail={"roles": roles})
            )
            raise Forbidden("may not manage a key with roles the caller does not hold")

    async def _deny(self, actor: Actor, permission: Permission, target: str | None) -> None:
        await self._audit.append(
            AuditEvent(
                actor, AuthzAction.DENIED, Outcome.DENIED, target, detail={"permission": permission}
            )
        )

    def _record(
        self,
        s: AsyncSession,
        actor: Actor,
        action: AccessKeyAction,
        target: str,
        detail: dict[str, Any] | None,
    ) -> None:
        self._audit.record_in(s, AuditEvent(actor, action, Outcome.SUCCESS, target, None, detail))
