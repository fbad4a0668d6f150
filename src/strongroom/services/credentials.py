"""What the stored-key side of the credentials domain needs from access control,
which it may not import (sibling domains): what an actor may use."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from strongroom.access.models import Principal
from strongroom.access.permissions import Permission
from strongroom.access.service import AccessService
from strongroom.context import Actor
from strongroom.store import access_repo
from strongroom.store.db import Database


def _none(_: str) -> bool:
    return False


class MayUse:
    """``KeyDirectory.usable(actor)`` without the request's principal: the actor's
    access key and its roles, read again (a revoked or expired key reaches nothing).
    Principals that are not access keys (bearer tokens, certificates) reach nothing
    this way; their edge passes ``reach`` (guard.reach(ctx, API_KEYS_USE)) instead."""

    def __init__(self, db: Database, access: AccessService) -> None:
        self._db, self._access = db, access

    async def __call__(self, actor: Actor) -> Callable[[str], bool]:
        async with self._db.read() as s:
            row = await access_repo.get(s, actor.principal)
        now = datetime.now(UTC)
        if (
            row is None
            or row.revoked_at is not None
            or (row.expires_at is not None and row.expires_at <= now)
        ):
            return _none
        grants = await self._access.roles.resolve(row.tenant_id, row.roles)
        who = Principal(row.id, row.tenant_id, tuple(row.roles), grants)
        tenant = actor.tenant

        def may(resource: str) -> bool:
            return who.can(Permission.API_KEYS_USE, tenant, resource=resource)

        return may
