"""Keys ready for use (``TargetResolver.for_use``) and the directory of keys other
parts of the system see (``KeyDirectory``).

Both read through one small state cache: a key's row and its opened values, kept in
this process's memory for ``state_cache_seconds`` (0.25 s by default, at most 0.5 s;
caching.SingleFlight never serves an entry once that has passed since its load
started). That bound is what makes revoke and block reach every replica within a
second with no message having to arrive; the replica that made the change drops the
key at once (``KeyCore.on_change``). Values are never cached anywhere else.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from strongroom.caching import SingleFlight
from strongroom.context import Actor
from strongroom.credentials.contract import BrokerTarget, KeyState, KeySummary
from strongroom.credentials.core import SYSTEM_ACTOR, KeyCore, info, injection_of, state_of
from strongroom.credentials.core import summary as summary_of
from strongroom.credentials.errors import (
    ApiKeyBlocked,
    ApiKeyExpired,
    ApiKeyNotFound,
    ApiKeyRevoked,
)
from strongroom.credentials.models import Slot, check_name, resource
from strongroom.credentials.service import ApiKeyService
from strongroom.store import credentials_repo as repo
from strongroom.store.models import ApiKey, Project

Key = tuple[str, str, str]  # tenant, project, key
# What an actor may use: resource ("project/key") -> bool. The services layer builds it
# from the actor's grants (``api-keys:use``); this domain knows no permissions.
MayUse = Callable[[Actor], Awaitable[Callable[[str], bool]]]


@dataclass(frozen=True)
class _Loaded:
    row: ApiKey
    project: Project
    current: bytes | None = field(repr=False)
    previous: bytes | None = field(repr=False)


class KeyResolver:
    """``TargetResolver``: ``for_use(actor, project, key)``."""

    def __init__(self, core: KeyCore) -> None:
        self._c = core
        self._cache: SingleFlight[Key, _Loaded | None] = SingleFlight(
            ttl=core.settings.state_cache_seconds, maxsize=10_000, name="api_key_state"
        )
        core.on_change.append(self.forget)

    def forget(self, tenant: str, project: str, key: str) -> None:
        self._cache.forget((tenant, project, key))

    async def close(self) -> None:
        await self._cache.close()

    async def for_use(self, actor: Actor, project: str, key: str) -> BrokerTarget:
        k = (actor.tenant, check_name(project), check_name(key))
        loaded = await self._cache.get(k, lambda: self._load(*k))
        if loaded is None:
            raise ApiKeyNotFound()
        now = datetime.now(UTC)
        state = state_of(loaded.row, now)
        if state is KeyState.REVOKED or loaded.current is None:
            raise ApiKeyRevoked()
        if state is KeyState.BLOCKED:
            raise ApiKeyBlocked()
        if state is KeyState.EXPIRED:
            raise ApiKeyExpired()
        row = loaded.row
        overlap = row.previous_until is not None and row.previous_until > now
        return BrokerTarget(
            tenant=actor.tenant,
            project=project,
            key_name=key,
            key_id=row.id,
            hosts=tuple(row.hosts),
            allowed_networks=tuple(row.allowed_networks),
            injection=injection_of(row),
            value=loaded.current,
            previous=loaded.previous if overlap else None,
        )

    async def _load(self, tenant: str, project: str, key: str) -> _Loaded | None:
        c = self._c
        async with c.db.read() as s:
            found = await repo.get_key(s, tenant, project, key)
            if found is None:
                return None
            row, proj = found
            blobs = await repo.sealed_values(s, row.id)
        opened: dict[str, bytes] = {}
        for slot in Slot:
            if slot.value in blobs:
                opened[slot.value] = await c.open(tenant, row, project, slot, blobs[slot.value])
        return _Loaded(row, proj, opened.get(Slot.CURRENT.value), opened.get(Slot.PREVIOUS.value))


class Directory:
    """``KeyDirectory``: what agents and approvers may see of stored keys."""

    def __init__(self, core: KeyCore, keys: ApiKeyService, may_use: MayUse) -> None:
        self._c, self._keys, self._may_use = core, keys, may_use

    async def usable(
        self, actor: Actor, reach: Callable[[str], bool] | None = None
    ) -> list[KeySummary]:
        """``reach``: the edge's own per-resource check (``guard.reach(ctx,
        API_KEYS_USE)``) when it has the request's principal; else resolved here."""
        allowed = reach or await self._may_use(actor)
        out: list[KeySummary] = []
        cursor: str | None = None
        while True:
            page = await self._keys.list(actor, None, allowed, cursor, 500)
            out += [
                summary_of(actor.tenant, k) for k in page.items if k.state is not KeyState.REVOKED
            ]
            cursor = page.cursor
            if cursor is None:
                return out

    async def describe(self, actor: Actor, project: str, key: str) -> KeySummary:
        return summary_of(actor.tenant, await self._keys.get(actor, project, key))

    async def block(self, tenant: str, key_id: int, reason: str) -> None:
        async with self._c.db.read() as s:
            found = await repo.get_key_by_id(s, tenant, key_id)
        if found is None:
            raise ApiKeyNotFound()
        row, proj = found
        if KeyState(row.state) is KeyState.BLOCKED:
            return  # an episode already blocked it
        actor = Actor(SYSTEM_ACTOR, tenant, f"sys-{uuid.uuid4().hex[:16]}", None)
        await self._keys.block(actor, proj.name, row.name, reason[:200])


__all__ = ["Directory", "KeyResolver", "MayUse", "info", "resource"]
