"""Rotation over two slots, so that it never cuts live callers.

A rotation obtains the new value first (given by the caller, or minted by the key's
rotation hook, credentials/hooks.py), seals it as ``current`` and the old current as
``previous``, then commits both with the key's compare-and-set in one transaction.
Until that commit nothing has changed: a hook that errs, times out or answers
garbage, or a write that fails, leaves the current value serving (each is a failure
record of ``api_key.rotate`` with ``detail.step``). The previous value stays known for
``previous_overlap_seconds`` (``BrokerTarget.previous``: still valid upstream, and
scrubbed from answers). A request token makes a retried rotation idempotent: the
key's last rotation remembers the token's hash, and the same token again returns
that rotation's result instead of rotating twice.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from strongroom.audit.actions import ApiKeyAction
from strongroom.audit.models import Outcome
from strongroom.context import Actor
from strongroom.credentials.contract import KeyState
from strongroom.credentials.core import KeyCore, info
from strongroom.credentials.errors import (
    ApiKeyConflict,
    ApiKeyNotFound,
    ApiKeyRevoked,
    InvalidKeyValue,
    NoRotationHook,
    RotationHookFailed,
)
from strongroom.credentials.hooks import HookError, run_hook
from strongroom.credentials.models import KeyInfo, Slot, check_name, check_value, resource
from strongroom.errors import InvalidInput
from strongroom.store import credentials_repo as repo
from strongroom.store.models import ApiKey, Project


def token_hash(token: str | None) -> str | None:
    return hashlib.sha256(token.encode()).hexdigest() if token is not None else None


class Rotation:
    def __init__(self, core: KeyCore) -> None:
        self._c = core

    async def rotate(
        self,
        actor: Actor,
        project: str,
        key: str,
        value: str | None = None,
        *,
        hook: bool = False,
        request_token: str | None = None,
    ) -> KeyInfo:
        if (value is None) == (not hook):
            raise InvalidInput("give a new value or hook: true, not both")
        c, tenant = self._c, actor.tenant
        token = token_hash(request_token)
        async with c.db.read() as s:
            found = await repo.get_key(s, tenant, check_name(project), check_name(key))
            if found is None:
                raise ApiKeyNotFound()
            row, proj = found
            blobs = await repo.sealed_values(s, row.id)
        if token is not None and row.rotation_token == token:
            return info(row, proj, replayed=True)  # a retry of the rotation that was done
        if KeyState(row.state) is KeyState.REVOKED or Slot.CURRENT.value not in blobs:
            raise ApiKeyRevoked()
        current = await c.open(tenant, row, project, Slot.CURRENT, blobs[Slot.CURRENT.value])
        if value is not None:
            new = check_value(value, c.settings.max_value_bytes)
        else:
            new = await self._from_hook(actor, row, project, current)
        return await self._commit(actor, row, proj, current, new, token, hook)

    async def _from_hook(self, actor: Actor, row: ApiKey, project: str, current: bytes) -> bytes:
        c = self._c
        spec = c.settings.rotation_hooks.get(row.rotation_hook or "")
        if spec is None:
            raise NoRotationHook()
        try:
            text = await run_hook(spec, project, row.name, row.provider, current)
            new = check_value(text, c.settings.max_value_bytes)
            if new == current:  # a hook that minted nothing new
                raise HookError("output")
        except InvalidKeyValue:
            await self._failed(actor, project, row.name, "output")
            raise RotationHookFailed(step="output") from None
        except HookError as exc:
            await self._failed(actor, project, row.name, exc.step)
            raise RotationHookFailed(step=exc.step) from None
        return new

    async def _commit(
        self,
        actor: Actor,
        row: ApiKey,
        proj: Project,
        current: bytes,
        new: bytes,
        token: str | None,
        hook: bool,
    ) -> KeyInfo:
        c, tenant, project = self._c, actor.tenant, proj.name
        now = datetime.now(UTC)
        overlap = c.settings.previous_overlap_seconds
        values = {
            "rotated_at": now,
            "previous_until": now + timedelta(seconds=overlap) if overlap else None,
            "rotation_token": token,
            "updated_at": now,
        }
        sealed_new = await c.seal(tenant, row, project, Slot.CURRENT, new)
        sealed_old = await c.seal(tenant, row, project, Slot.PREVIOUS, current)
        target = resource(project, row.name)
        try:
            async with c.db.transaction() as s:
                if not await repo.claim(s, row.id, row.version, **values):
                    raise ApiKeyConflict()
                await repo.put_value(s, row.id, tenant, Slot.PREVIOUS.value, sealed_old, now)
                await repo.put_value(s, row.id, tenant, Slot.CURRENT.value, sealed_new, now)
                detail = {"hook": hook, "version": row.version + 1}
                c.audit.record_in(s, c.event(actor, ApiKeyAction.ROTATE, target, **detail))
        except ApiKeyConflict:
            raise
        except Exception:
            await self._failed(actor, project, row.name, "store")
            raise
        c.changed(tenant, project, row.name)
        for k, v in values.items():
            setattr(row, k, v)
        row.version += 1
        return info(row, proj)

    async def _failed(self, actor: Actor, project: str, key: str, step: str) -> None:
        c = self._c
        event = c.event(
            actor, ApiKeyAction.ROTATE, resource(project, key), Outcome.FAILURE, step=step
        )
        await c.audit.append(event)
