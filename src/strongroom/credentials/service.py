"""Stored keys: create (the value is write-only), read and list (never the value),
change (compare-and-set on ``version``), revoke, block, unblock, reveal and delete.

Every change is one transaction: the claim of the key's row (compare-and-set on the
version read), the change, its audit record. After the commit this replica's state
cache drops the key at once; every other replica's within ``state_cache_seconds``
(credentials/resolver.py), which is how revoke and block reach the whole cluster in
well under a second without any message having to arrive.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from strongroom.audit.actions import ApiKeyAction
from strongroom.audit.models import Outcome
from strongroom.context import Actor
from strongroom.credentials.contract import KeyState, Use, UseKind
from strongroom.credentials.core import KeyCore, info, state_of
from strongroom.credentials.errors import (
    ApiKeyBlocked,
    ApiKeyConflict,
    ApiKeyExists,
    ApiKeyNotFound,
    ApiKeyRevoked,
    NoRotationHook,
)
from strongroom.credentials.models import (
    KeyChange,
    KeyInfo,
    NewKey,
    Page,
    Slot,
    check_hosts,
    check_injection,
    check_name,
    check_networks,
    check_owners,
    check_tags,
    check_value,
    resource,
)
from strongroom.errors import InvalidInput, InvalidQuery
from strongroom.store import credentials_repo as repo
from strongroom.store.models import ApiKey, Project


def _check_reason(reason: str | None) -> str | None:
    if reason is not None and len(reason) > 200:
        raise InvalidInput("a reason has at most 200 characters")
    return reason


def encode_cursor(project: str, name: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([project, name]).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[str, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        p, k = json.loads(raw)
        if isinstance(p, str) and isinstance(k, str):
            return p, k
    except (ValueError, TypeError):
        pass
    # Only a cursor this service issued opens (the same answer as the vault's).
    raise InvalidQuery("bad cursor")


class ApiKeyService:
    def __init__(self, core: KeyCore) -> None:
        self._c = core

    def _hook(self, name: str | None) -> str | None:
        if name is not None and name not in self._c.settings.rotation_hooks:
            raise NoRotationHook()
        return name

    async def create(self, actor: Actor, project: str, new: NewKey) -> KeyInfo:
        c, tenant = self._c, actor.tenant
        check_name(project)
        check_name(new.name)
        value = check_value(new.value, c.settings.max_value_bytes)
        if len(new.provider) > 64:
            raise InvalidInput("a provider label has at most 64 characters")
        if new.rotate_after_days is not None and not 1 <= new.rotate_after_days <= 3650:
            raise InvalidInput("rotateAfterDays is 1 to 3650")
        now = datetime.now(UTC)
        if new.expires_at is not None and new.expires_at <= now:
            raise InvalidInput("expiry must be in the future")
        inj = check_injection(new.injection)
        row = ApiKey(
            tenant_id=tenant,
            name=new.name,
            provider=new.provider,
            hosts=list(check_hosts(new.hosts)),
            allowed_networks=list(check_networks(new.allowed_networks)),
            injection_kind=inj.kind.value,
            injection_name=inj.name,
            injection_template=inj.template,
            expires_at=new.expires_at,
            rotate_after_days=new.rotate_after_days,
            rotated_at=now,
            previous_until=None,
            rotation_hook=self._hook(new.rotation_hook),
            rotation_token=None,
            owners=check_owners(new.owners),
            tags=check_tags(new.tags),
            sensitivity=new.sensitivity.value,
            state=KeyState.ACTIVE.value,
            state_reason=None,
            version=1,
            created_at=now,
            created_by=actor.principal,
            updated_at=now,
        )
        # Sealed first: the tenant's first seal creates its data key, in a transaction
        # of its own (one writer at a time on SQLite).
        sealed = await c.seal(tenant, row, project, Slot.CURRENT, value)
        try:
            async with c.db.transaction() as s:
                proj = await repo.get_project(s, tenant, project)
                if proj is None:
                    raise ApiKeyNotFound()
                row.project_id = proj.id
                s.add(row)
                await s.flush()
                await repo.put_value(s, row.id, tenant, Slot.CURRENT.value, sealed, now)
                detail = {"provider": new.provider, "hosts": len(row.hosts)}
                target = resource(project, new.name)
                c.audit.record_in(s, c.event(actor, ApiKeyAction.CREATE, target, **detail))
        except IntegrityError:
            raise ApiKeyExists() from None
        c.changed(tenant, project, new.name)  # a miss cached just before is dropped
        return info(row, proj)

    async def get(self, actor: Actor, project: str, key: str) -> KeyInfo:
        row, proj = await self._read(actor.tenant, project, key)
        return info(row, proj)

    async def list(
        self,
        actor: Actor,
        project: str | None,
        may_read: Callable[[str], bool],
        cursor: str | None = None,
        limit: int = 100,
    ) -> Page:
        """Keys in (project, name) order that ``may_read`` allows; ``cursor`` pages on.
        A page may be short when many keys in a row are out of reach."""
        after = decode_cursor(cursor) if cursor else None
        out: list[KeyInfo] = []
        async with self._c.db.read() as s:
            project_id = None
            if project is not None:
                proj = await repo.get_project(s, actor.tenant, check_name(project))
                if proj is None:
                    raise ApiKeyNotFound()
                project_id = proj.id
            for _ in range(10):  # bounded work per page
                rows = await repo.list_keys(s, actor.tenant, project_id, after, limit)
                for row, p in rows:
                    after = (p.name, row.name)
                    if may_read(resource(p.name, row.name)):
                        out.append(info(row, p))
                        if len(out) == limit:
                            break
                if len(out) == limit or len(rows) < limit:
                    break
        more = after is not None and (len(out) == limit or len(rows) == limit)
        next_cursor = encode_cursor(*after) if more and after is not None else None
        return Page(tuple(out), next_cursor)

    async def update(self, actor: Actor, project: str, key: str, ch: KeyChange) -> KeyInfo:
        values: dict[str, Any] = {}
        if ch.provider is not None:
            if len(ch.provider) > 64:
                raise InvalidInput("a provider label has at most 64 characters")
            values["provider"] = ch.provider
        if ch.hosts is not None:
            values["hosts"] = list(check_hosts(ch.hosts))
        if ch.allowed_networks is not None:
            values["allowed_networks"] = list(check_networks(ch.allowed_networks))
        if ch.injection is not None:
            inj = check_injection(ch.injection)
            values |= {
                "injection_kind": inj.kind.value,
                "injection_name": inj.name,
                "injection_template": inj.template,
            }
        if ch.clear_expiry:
            values["expires_at"] = None
        elif ch.expires_at is not None:
            if ch.expires_at <= datetime.now(UTC):
                raise InvalidInput("expiry must be in the future")
            values["expires_at"] = ch.expires_at
        if ch.rotate_after_days is not None:
            if not 0 <= ch.rotate_after_days <= 3650:
                raise InvalidInput("rotateAfterDays is 0 (none) to 3650")
            values["rotate_after_days"] = ch.rotate_after_days or None
        if ch.rotation_hook is not None:
            values["rotation_hook"] = self._hook(ch.rotation_hook) if ch.rotation_hook else None
        if ch.owners is not None:
            values["owners"] = check_owners(ch.owners)
        if ch.tags is not None:
            values["tags"] = check_tags(ch.tags)
        if ch.sensitivity is not None:
            values["sensitivity"] = ch.sensitivity.value
        fields = sorted(values)

        def check(row: ApiKey) -> None:
            if ch.version is not None and ch.version != row.version:
                raise ApiKeyConflict()
            if KeyState(row.state) is KeyState.REVOKED:
                raise ApiKeyRevoked()

        return await self.change(
            actor, project, key, ApiKeyAction.UPDATE, values, check, fields=fields
        )

    async def revoke(self, actor: Actor, project: str, key: str, reason: str | None) -> KeyInfo:
        """For good: the state is final and both sealed values leave the database."""

        def check(row: ApiKey) -> None:
            if KeyState(row.state) is KeyState.REVOKED:
                raise ApiKeyRevoked()

        values = {"state": KeyState.REVOKED.value, "state_reason": _check_reason(reason)}
        done = await self.change(actor, project, key, ApiKeyAction.REVOKE, values, check)
        await self._c.db.purge_freed_pages("api_key_values")
        return done

    async def block(self, actor: Actor, project: str, key: str, reason: str | None) -> KeyInfo:
        def check(row: ApiKey) -> None:
            if KeyState(row.state) is KeyState.REVOKED:
                raise ApiKeyRevoked()

        values = {"state": KeyState.BLOCKED.value, "state_reason": _check_reason(reason)}
        return await self.change(actor, project, key, ApiKeyAction.BLOCK, values, check)

    async def unblock(self, actor: Actor, project: str, key: str) -> KeyInfo:
        def check(row: ApiKey) -> None:
            if KeyState(row.state) is KeyState.REVOKED:
                raise ApiKeyRevoked()

        values = {"state": KeyState.ACTIVE.value, "state_reason": None}
        return await self.change(actor, project, key, ApiKeyAction.UNBLOCK, values, check)

    async def delete(self, actor: Actor, project: str, key: str) -> None:
        c = self._c
        async with c.db.transaction() as s:
            row, _ = await self._locked(s, actor.tenant, project, key)
            await repo.delete_values(s, row.id)
            await repo.delete_key(s, row.id)
            c.audit.record_in(s, c.event(actor, ApiKeyAction.DELETE, resource(project, key)))
        c.changed(actor.tenant, project, key)
        await c.db.purge_freed_pages("api_key_values")

    async def reveal(self, actor: Actor, project: str, key: str) -> tuple[KeyInfo, bytes]:
        """The current value, recorded before it is returned (a reveal whose record
        cannot be written never reaches the caller). The edge checked the explicit
        ``api-keys:reveal`` grant."""
        c = self._c
        async with c.db.read() as s:
            found = await repo.get_key(s, actor.tenant, check_name(project), check_name(key))
            if found is None:
                raise ApiKeyNotFound()
            row, proj = found
            blobs = await repo.sealed_values(s, row.id)
        target = resource(project, key)
        state = state_of(row)
        if state in (KeyState.REVOKED, KeyState.BLOCKED) or Slot.CURRENT.value not in blobs:
            reason = state.value
            await c.audit.append(
                c.event(actor, ApiKeyAction.REVEAL, target, Outcome.FAILURE, reason=reason)
            )
            raise ApiKeyBlocked() if state is KeyState.BLOCKED else ApiKeyRevoked()
        value = await c.open(actor.tenant, row, project, Slot.CURRENT, blobs[Slot.CURRENT.value])
        await c.audit.append(c.event(actor, ApiKeyAction.REVEAL, target, version=row.version))
        c.usage.record(
            Use(
                tenant=actor.tenant,
                key_id=row.id,
                kind=UseKind.REVEAL,
                caller=actor.principal,
                source=actor.client_addr,
                host=None,
                status=None,
                at=datetime.now(UTC),
            )
        )
        return info(row, proj), value

    # --- shared by the changes above, rotation and the directory ---------------------

    async def change(
        self,
        actor: Actor,
        project: str,
        key: str,
        action: ApiKeyAction,
        values: dict[str, Any],
        check: Callable[[ApiKey], None],
        **detail: Any,
    ) -> KeyInfo:
        c = self._c
        now = datetime.now(UTC)
        async with c.db.transaction() as s:
            row, proj = await self._locked(s, actor.tenant, project, key)
            check(row)
            if not await repo.claim(s, row.id, row.version, updated_at=now, **values):
                raise ApiKeyConflict()
            if values.get("state") == KeyState.REVOKED.value:
                await repo.delete_values(s, row.id)
            reason = values.get("state_reason")
            extra = {"reason": reason} if reason else {}
            c.audit.record_in(s, c.event(actor, action, resource(project, key), **detail, **extra))
        c.changed(actor.tenant, project, key)
        for k, v in values.items():
            setattr(row, k, v)
        return replace(info(row, proj), version=row.version + 1)

    async def _locked(
        self, s: AsyncSession, tenant: str, project: str, key: str
    ) -> tuple[ApiKey, Project]:
        found = await repo.get_key(s, tenant, check_name(project), check_name(key))
        if found is None:
            raise ApiKeyNotFound()
        return found

    async def _read(self, tenant: str, project: str, key: str) -> tuple[ApiKey, Project]:
        async with self._c.db.read() as s:
            return await self._locked(s, tenant, project, key)
