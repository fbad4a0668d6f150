"""Custom roles: a tenant's own named sets of grants, next to the built-in roles.

A custom role lives in one tenant, grants at ``tenant`` or ``own`` scope only (never
across tenants), and may only be written by a principal whose own grants cover it
(so no one mints a role stronger than itself). Built-in names are reserved.
Principals resolve their role names through ``resolve``: built-ins from code, custom
roles from the database through a per-tenant cache of ``cache_ttl`` seconds, so a
change made on one replica reaches the others within that time (5 s by default).
Deleting a role in use is allowed: holders simply lose its grants.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.exc import IntegrityError

from strongroom.access.models import Principal
from strongroom.access.rbac import BUILTIN_ROLES, Grant, Scope, covers
from strongroom.access.resources import valid_pattern
from strongroom.audit.actions import RoleAction
from strongroom.audit.interfaces import AuditSink
from strongroom.audit.models import AuditEvent, Outcome
from strongroom.caching import SingleFlight
from strongroom.context import Actor
from strongroom.errors import Forbidden, InvalidInput, NotFound, RoleConflict, RoleExists
from strongroom.store import roles_repo
from strongroom.store.db import Database
from strongroom.store.models import CustomRole

ROLE_NAME = re.compile(r"[a-z][a-z0-9-]{0,63}")
PATTERN = re.compile(r"\*|[a-z][a-z-]{0,31}:(\*|[a-z][a-z-]{0,31})")
MAX_GRANTS = 64


@dataclass(frozen=True)
class RoleView:
    name: str
    builtin: bool
    grants: tuple[Grant, ...]
    description: str = ""
    updated_at: datetime | None = None


def parse_grants(raw: Sequence[tuple[str, str, str | None]]) -> frozenset[Grant]:
    """(permission pattern, scope, resource pattern or None) as a client wrote them."""
    if not raw or len(raw) > MAX_GRANTS:
        raise InvalidInput("a role needs 1 to 64 grants", limit=MAX_GRANTS)
    grants = set()
    for index, (pattern, scope, resource) in enumerate(raw):
        if not PATTERN.fullmatch(pattern):
            raise InvalidInput("bad permission pattern", index=index)
        if scope not in (Scope.TENANT.value, Scope.OWN.value):
            raise InvalidInput("custom roles grant at tenant or own scope", index=index)
        if resource is not None and not valid_pattern(resource):
            raise InvalidInput("bad resource pattern", index=index)
        grants.add(Grant(pattern, Scope(scope), resource))
    return frozenset(grants)


def stored_grant(g: Grant) -> dict[str, str]:
    """A grant as the ``custom_roles.grants`` JSON keeps it (``resource`` only when set,
    so rows written before resource patterns read the same)."""
    out = {"pattern": g.pattern, "scope": g.scope.value}
    if g.resource is not None:
        out["resource"] = g.resource
    return out


def loaded_grant(d: dict[str, str]) -> Grant:
    return Grant(d["pattern"], Scope(d["scope"]), d.get("resource"))


def _view(row: CustomRole) -> RoleView:
    grants = tuple(sorted((loaded_grant(g) for g in row.grants), key=str))
    return RoleView(row.name, False, grants, row.description, row.updated_at)


class RoleService:
    def __init__(self, db: Database, audit: AuditSink, cache_ttl: float = 5.0) -> None:
        self._db, self._audit, self._ttl = db, audit, cache_ttl
        # Per tenant; ``cache_ttl`` from when the read started bounds how long a change
        # made on another replica goes unseen here. Concurrent misses share one read.
        self._cache: SingleFlight[str, dict[str, frozenset[Grant]]] = SingleFlight(
            ttl=cache_ttl, maxsize=10_000, name="roles"
        )

    async def resolve(self, tenant: str, names: Iterable[str]) -> frozenset[Grant]:
        """The grants of ``names`` in ``tenant``; unknown names grant nothing."""
        names = tuple(names)
        grants = frozenset().union(*(BUILTIN_ROLES.get(n, frozenset()) for n in names))
        custom = [n for n in names if n not in BUILTIN_ROLES]
        if custom:
            table = await self._custom(tenant)
            grants = grants.union(*(table.get(n, frozenset()) for n in custom))
        return grants

    async def unknown(self, tenant: str, names: Iterable[str]) -> list[str]:
        table = await self._custom(tenant)
        return [n for n in names if n not in BUILTIN_ROLES and n not in table]

    async def list_roles(self, tenant: str) -> list[RoleView]:
        builtins = [RoleView(n, True, tuple(sorted(g, key=str))) for n, g in BUILTIN_ROLES.items()]
        async with self._db.read() as s:
            rows = await roles_repo.list_roles(s, tenant)
        return builtins + [_view(r) for r in rows]

    async def get(self, tenant: str, name: str) -> RoleView:
        if name in BUILTIN_ROLES:
            return RoleView(name, True, tuple(sorted(BUILTIN_ROLES[name], key=str)))
        row = await self._row(tenant, name)
        if row is None:
            raise NotFound()
        return _view(row)

    async def put(
        self,
        actor: Actor,
        who: Principal,
        name: str,
        grants: frozenset[Grant],
        description: str,
        *,
        create_only: bool = False,
    ) -> tuple[RoleView, bool]:
        """Create or replace ``name`` in the actor's tenant; (view, created)."""
        if not ROLE_NAME.fullmatch(name) or name in BUILTIN_ROLES:
            raise InvalidInput("role name reserved or malformed")
        await self._require_cover(actor, who, grants, name)
        stored = [stored_grant(g) for g in grants]
        try:
            return await self._store(actor, name, grants, stored, description, create_only)
        except IntegrityError:  # created concurrently by another request
            raise RoleConflict() from None

    async def _store(
        self,
        actor: Actor,
        name: str,
        grants: frozenset[Grant],
        stored: list[dict[str, str]],
        description: str,
        create_only: bool,
    ) -> tuple[RoleView, bool]:
        now = datetime.now(UTC)
        async with self._db.transaction() as s:
            row = await roles_repo.get(s, actor.tenant, name, for_update=True)
            created = row is None
            if row is None:
                row = CustomRole(tenant_id=actor.tenant, name=name, created_at=now)
                roles_repo.add(s, row)
            elif create_only:
                raise RoleExists()
            row.grants, row.description = stored, description[:500]
            row.updated_at, row.updated_by = now, actor.principal
            action = RoleAction.CREATE if created else RoleAction.UPDATE
            detail = {"grants": sorted(str(g) for g in grants)}
            self._audit.record_in(
                s, AuditEvent(actor, action, Outcome.SUCCESS, name, detail=detail)
            )
        self._cache.forget(actor.tenant)
        return _view(row), created

    async def delete(self, actor: Actor, name: str) -> None:
        if name in BUILTIN_ROLES:
            raise InvalidInput("built-in roles cannot be deleted")
        async with self._db.transaction() as s:
            if not await roles_repo.delete_role(s, actor.tenant, name):
                raise NotFound()
            self._audit.record_in(s, AuditEvent(actor, RoleAction.DELETE, Outcome.SUCCESS, name))
        self._cache.forget(actor.tenant)

    async def _require_cover(
        self, actor: Actor, who: Principal, grants: frozenset[Grant], name: str
    ) -> None:
        if not covers(who.grants, grants):
            event = AuditEvent(
                actor, RoleAction.WRITE, Outcome.DENIED, name, detail={"reason": "escalation"}
            )
            await self._audit.append(event)
            raise Forbidden()

    async def _row(self, tenant: str, name: str) -> CustomRole | None:
        async with self._db.read() as s:
            return await roles_repo.get(s, tenant, name)

    async def _custom(self, tenant: str) -> dict[str, frozenset[Grant]]:
        async def read() -> dict[str, frozenset[Grant]]:
            async with self._db.read() as s:
                rows = await roles_repo.grants_by_name(s, tenant)
            return {name: frozenset(loaded_grant(g) for g in grants) for name, grants in rows}

        return await self._cache.get(tenant, read)

    async def close(self) -> None:
        await self._cache.close()
