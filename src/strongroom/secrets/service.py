"""Writes and reads of the vault (KV v2 semantics; docs/secrets.md).

A write makes a new version: its value is sealed first (bound to tenant, path,
version and field), then one transaction claims the secret row (compare-and-set on
the newest version and the ``current`` label read), adds the version and its sealed
value, prunes versions beyond ``maxVersions`` and appends the audit record. A lost
race re-reads and tries again: with ``cas`` the fresh read then sees the version
that won and answers ``CasMismatch`` (409). A request
token makes a retried write idempotent: the version it made is returned again.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from strongroom.audit.actions import SecretAction
from strongroom.audit.models import Outcome
from strongroom.context import Actor
from strongroom.errors import InvalidInput
from strongroom.secrets.core import Found, SecretCore, info, state_of
from strongroom.secrets.errors import (
    CasMismatch,
    SecretConflict,
    SecretExpired,
    SecretNotFound,
    SecretTooLarge,
    SecretVersionGone,
)
from strongroom.secrets.models import (
    Label,
    SecretData,
    VersionState,
    WriteResult,
    check_path,
    encode,
    merge_patch,
)
from strongroom.store import secrets_repo as repo
from strongroom.store.models import Secret, SecretVersion

_ATTEMPTS = 32  # writes without cas retry a lost race this many times


class _Lost(Exception):
    """The claim found the row changed since it was read."""


@dataclass(frozen=True)
class WriteRequest:
    data: Mapping[str, Any]
    cas: int | None = None
    patch: bool = False  # RFC 7396 merge patch onto the newest version
    expires_at: datetime | None = None
    label: Label = Label.CURRENT  # PENDING: stage it without serving it (rotation)
    request_token: str | None = None


def _token_hash(token: str | None) -> str | None:
    return hashlib.sha256(token.encode()).hexdigest() if token is not None else None


class SecretService:
    def __init__(self, core: SecretCore) -> None:
        self._c = core

    async def write(self, actor: Actor, path: str, req: WriteRequest) -> WriteResult:
        check_path(path)
        if req.label is Label.PREVIOUS:
            raise InvalidInput("a write is labelled current or pending")
        if req.expires_at is not None and req.expires_at <= datetime.now(UTC):
            raise InvalidInput("expiry must be in the future")
        token = _token_hash(req.request_token)
        for attempt in range(_ATTEMPTS):
            try:
                return await self._attempt(actor, path, req, token)
            except _Lost:
                pass  # re-read: a cas write then sees the version that won (409)
            # Many writers on one path: step aside a little, at random, then re-read.
            await asyncio.sleep(random.random() * 0.002 * min(attempt + 1, 10))  # noqa: S311
        raise SecretConflict()

    async def _attempt(
        self, actor: Actor, path: str, req: WriteRequest, token: str | None
    ) -> WriteResult:
        c, tenant = self._c, actor.tenant
        # Core reads (no ORM session): the rows come back detached.
        async with c.db.core_transaction() as conn:
            row = await repo.find_secret(conn, tenant, path)
            if row is not None and token is not None:
                done = await repo.version_by_token(conn, row.id, token)
                if done is not None:
                    return WriteResult(path, info(row, done, datetime.now(UTC)), replayed=True)
            base = await self._patch_base(conn, row, path, tenant) if req.patch else None
        latest = row.latest_version if row is not None else 0
        if req.cas is not None and req.cas != latest:
            await self._refused(actor, SecretAction.WRITE, path, "cas")
            raise CasMismatch()
        value = merge_patch(base, dict(req.data)) if req.patch else dict(req.data)
        plain = encode(value)
        if len(plain) > c.settings.max_value_bytes:
            raise SecretTooLarge(limit=c.settings.max_value_bytes)
        version = latest + 1
        sealed = await c.seal(tenant, path, version, plain)
        now = datetime.now(UTC)
        try:
            async with c.db.transaction() as s:
                current = await self._claim(s, row, tenant, path, version, req.label, now)
                v = SecretVersion(
                    secret_id=current.id,
                    version=version,
                    created_at=now,
                    created_by=actor.principal,
                    expires_at=req.expires_at,
                    request_token=token,
                    size=len(plain),
                )
                await repo.add_version(s, v, sealed)
                # Never prune a labelled version (a long run of pending or current writes).
                keep = min(
                    version - current.max_versions + 1,
                    current.current_version or version,
                    current.pending_version or version,
                )
                pruned = await repo.prune(s, current.id, keep)
                detail: dict[str, Any] = {"version": version, "label": req.label.value}
                if req.patch:
                    detail["patch"] = True
                if pruned:
                    detail["pruned"] = pruned
                c.audit.record_in(s, c.event(actor, SecretAction.WRITE, path, **detail))
        except IntegrityError:  # created concurrently, or the same token raced us
            raise _Lost() from None
        c.changed(tenant, path)
        return WriteResult(path, info(current, v, now))

    async def _claim(
        self,
        s: Any,
        row: Secret | None,
        tenant: str,
        path: str,
        version: int,
        label: Label,
        now: datetime,
    ) -> Secret:
        """Claim the row for ``version`` (insert it for the first), moving the labels:
        a current write makes the old current ``previous``; a pending one only
        ``pending``."""
        serve = label is Label.CURRENT
        if row is None:
            row = Secret(
                tenant_id=tenant,
                path=path,
                latest_version=version,
                current_version=version if serve else 0,
                pending_version=0 if serve else version,
                previous_version=0,
                max_versions=self._c.settings.default_max_versions,
                delete_version_after=0,
                custom_metadata={},
                created_at=now,
                updated_at=now,
            )
            await repo.insert_secret(s, row)
            return row
        labels: dict[str, object] = {"latest_version": version, "updated_at": now}
        if serve:
            labels["current_version"] = version
            if row.current_version:
                labels["previous_version"] = row.current_version
        else:
            labels["pending_version"] = version
        # The labels moved from what was read too (a promotion) count as a lost race.
        if not await repo.claim(s, row.id, row.latest_version, row.current_version, **labels):
            raise _Lost()
        for k, val in labels.items():
            setattr(row, k, val)
        return row

    async def _patch_base(
        self, conn: AsyncConnection, row: Secret | None, path: str, tenant: str
    ) -> Any:
        """The newest version's value, which a merge patch applies to."""
        if row is None:
            raise SecretNotFound()
        found = await repo.read_version(conn, tenant, path, row.latest_version, None)
        if found is None:
            raise SecretVersionGone()
        current, v, blob = found
        gone = (VersionState.DELETED, VersionState.DESTROYED)
        if blob is None or state_of(current, v, datetime.now(UTC)) in gone:
            raise SecretVersionGone()
        return await self._c.open(tenant, path, v.version, blob)

    async def read(
        self, actor: Actor, path: str, version: int | None = None, label: Label | None = None
    ) -> SecretData:
        """A version's value (default: ``current``). Recorded before it is returned:
        a read whose record cannot be written never reaches the caller."""
        check_path(path)
        c, tenant = self._c, actor.tenant
        which = label.value if label else None

        async def load() -> Found:
            async with c.db.core_transaction() as conn:
                return await repo.read_version(conn, tenant, path, version, which)

        found = await c.reads.get((tenant, path, version, which), load)
        now = datetime.now(UTC)
        if found is None:
            raise SecretNotFound()
        row, v, blob = found
        state = state_of(row, v, now)
        if state is VersionState.EXPIRED:
            await self._refused(actor, SecretAction.READ, path, "expired", version=v.version)
            raise SecretExpired()
        if state is not VersionState.LIVE or blob is None:
            raise SecretVersionGone(state=state.value)
        data = await c.open(actor.tenant, path, v.version, blob)
        # Its only effect is the response: the edge holds that until the record is
        # durable (audit/release.py), still fail closed, without suspending us here.
        await c.audit.append_before_release(
            c.event(actor, SecretAction.READ, path, version=v.version)
        )
        return SecretData(path, data, info(row, v, now), dict(row.custom_metadata))

    async def read_for_share(self, tenant: str, path: str, version: int) -> bytes:
        """A live version's value as stored (compact JSON), for a share's own sealed
        copy (secrets/shares*.py, ``SecretVersionSource``). The caller authorizes and
        records the share; this raises the vault's not-found, gone or expired errors."""
        check_path(path)
        async with self._c.db.core_transaction() as conn:
            found = await repo.read_version(conn, tenant, path, version, None)
        if found is None:
            raise SecretNotFound()
        row, v, blob = found
        state = state_of(row, v, datetime.now(UTC))
        if state is VersionState.EXPIRED:
            raise SecretExpired()
        if state is not VersionState.LIVE or blob is None:
            raise SecretVersionGone(state=state.value)
        return encode(await self._c.open(tenant, path, version, blob))

    async def serves(self, tenant: str, path: str, version: int) -> bool:
        """Whether ``version`` still reads: a share of it may still reveal
        (shares_redeem.py); no record, the redeem records itself."""
        async with self._c.db.core_transaction() as conn:
            found = await repo.read_version(conn, tenant, path, version, None)
        if found is None:
            return False
        row, v, blob = found
        return blob is not None and state_of(row, v, datetime.now(UTC)) is VersionState.LIVE

    async def _refused(
        self, actor: Actor, action: SecretAction, path: str, reason: str, **detail: Any
    ) -> None:
        await self._c.audit.append(
            self._c.event(actor, action, path, Outcome.FAILURE, reason=reason, **detail)
        )
