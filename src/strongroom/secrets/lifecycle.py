"""Metadata and the life of versions: settings and custom metadata, soft delete and
undelete, destroy (the sealed value leaves the database), delete of a whole secret,
and promotion of the staging labels (rotation)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from strongroom.audit.actions import SecretAction, ShareAction
from strongroom.audit.models import AuditEvent, Outcome
from strongroom.context import Actor
from strongroom.secrets.core import SecretCore, info, numbers
from strongroom.secrets.errors import NothingPending, SecretNotFound
from strongroom.secrets.models import Label, SecretMetadata, check_meta, check_path
from strongroom.store import secrets_repo as repo
from strongroom.store import shares_repo
from strongroom.store.models import Secret


@dataclass(frozen=True)
class MetadataChange:
    """None: unchanged. ``custom_metadata`` replaces the whole map."""

    max_versions: int | None = None
    delete_version_after: int | None = None  # seconds; 0: never
    custom_metadata: dict[str, str] | None = None


class SecretLifecycle:
    def __init__(self, core: SecretCore) -> None:
        self._c = core

    async def metadata(self, actor: Actor, path: str, *, record: bool = False) -> SecretMetadata:
        """``record``: a caller's read of the metadata (``secret.read`` with
        ``detail.metadata``), not the answer of a change that recorded itself."""
        check_path(path)
        async with self._c.db.read() as s:
            row = await repo.get_secret(s, actor.tenant, path)
            if row is None:
                raise SecretNotFound()
            versions = await repo.versions(s, row.id)
        now = datetime.now(UTC)
        if record:
            event = self._c.event(actor, SecretAction.READ, path, metadata=True)
            await self._c.audit.append_before_release(event)
        return SecretMetadata(
            path=row.path,
            latest_version=row.latest_version,
            current_version=row.current_version,
            pending_version=row.pending_version,
            previous_version=row.previous_version,
            oldest_version=versions[0].version if versions else 0,
            max_versions=row.max_versions,
            delete_version_after=row.delete_version_after,
            custom_metadata=dict(row.custom_metadata),
            created_at=row.created_at,
            updated_at=row.updated_at,
            versions=tuple(info(row, v, now) for v in versions),
        )

    async def update_metadata(
        self, actor: Actor, path: str, change: MetadataChange
    ) -> SecretMetadata:
        """Settings of an existing secret (write a version first to create one)."""
        check_path(path)
        meta = check_meta(change.custom_metadata) if change.custom_metadata is not None else None
        c, now = self._c, datetime.now(UTC)
        async with c.db.transaction() as s:
            row = await self._row_for_update(s, actor.tenant, path)
            values: dict[str, object] = {"updated_at": now}
            if change.max_versions is not None:
                values["max_versions"] = change.max_versions
            if change.delete_version_after is not None:
                values["delete_version_after"] = change.delete_version_after
            if meta is not None:
                values["custom_metadata"] = meta
                await repo.replace_meta(s, actor.tenant, row.id, meta)
            await repo.touch(s, row.id, **values)
            pruned = 0
            if change.max_versions is not None:
                keep = min(
                    row.latest_version - change.max_versions + 1,
                    row.current_version or row.latest_version,
                    row.pending_version or row.latest_version,
                )
                pruned = await repo.prune(s, row.id, keep)
            detail: dict[str, object] = {
                "fields": sorted(k for k in values if k != "updated_at"),
            }
            if pruned:
                detail["pruned"] = pruned
            c.audit.record_in(s, c.event(actor, SecretAction.METADATA, path, **detail))
        c.changed(actor.tenant, path)
        return await self.metadata(actor, path)

    async def delete(self, actor: Actor, path: str, versions: Sequence[int] | None) -> list[int]:
        """Soft-delete ``versions`` (None: the current one); the versions hit."""
        return await self._mark(actor, path, versions, SecretAction.DELETE, datetime.now(UTC))

    async def undelete(self, actor: Actor, path: str, versions: Sequence[int]) -> list[int]:
        return await self._mark(actor, path, versions, SecretAction.UNDELETE, None)

    async def _mark(
        self,
        actor: Actor,
        path: str,
        versions: Sequence[int] | None,
        action: SecretAction,
        when: datetime | None,
    ) -> list[int]:
        check_path(path)
        c = self._c
        async with c.db.transaction() as s:
            row = await self._row_for_update(s, actor.tenant, path)
            hit = await repo.mark(s, row.id, numbers(row, versions), deleted_at=when)
            c.audit.record_in(s, c.event(actor, action, path, versions=hit))
            if when is not None and hit:
                await self._end_shares(s, actor, path, hit, when)
        c.changed(actor.tenant, path)
        return hit

    async def _end_shares(
        self, s: AsyncSession, actor: Actor, path: str, versions: list[int], now: datetime
    ) -> None:
        """A soft delete ends the shares of those versions in its own transaction (a
        share never outlives what it shares; an undelete does not bring them back).
        Versions that stop serving without a write (deleteVersionAfter, expiry) are
        caught at redeem time (shares_redeem.py asks the vault)."""
        for share_id, version in await shares_repo.end_for_versions(
            s, actor.tenant, path, versions, now
        ):
            detail = {"reason": "source-deleted", "sourceVersion": version}
            event = AuditEvent(
                actor, ShareAction.END, Outcome.SUCCESS, share_id, detail=detail,
                private={"sourcePath": path},
            )  # fmt: skip
            self._c.audit.record_in(s, event)

    async def destroy(self, actor: Actor, path: str, versions: Sequence[int]) -> list[int]:
        """Delete the sealed values of ``versions`` for good (the versions stay listed
        as destroyed), then push freed pages out of the database file."""
        check_path(path)
        c = self._c
        async with c.db.transaction() as s:
            row = await self._row_for_update(s, actor.tenant, path)
            hit = await repo.destroy(s, row.id, numbers(row, versions), datetime.now(UTC))
            c.audit.record_in(s, c.event(actor, SecretAction.DESTROY, path, versions=hit))
        c.changed(actor.tenant, path)
        await self._purge_pages()
        await c.gone(actor, path, hit)
        return hit

    async def purge(self, actor: Actor, path: str) -> None:
        """Delete the secret: every version, every sealed value, its metadata."""
        check_path(path)
        c = self._c
        async with c.db.transaction() as s:
            row = await self._row_for_update(s, actor.tenant, path)
            await repo.delete_secret(s, row.id)
            c.audit.record_in(
                s, c.event(actor, SecretAction.PURGE, path, versions=row.latest_version)
            )
        c.changed(actor.tenant, path)
        await self._purge_pages()
        await c.gone(actor, path, None)

    async def promote(self, actor: Actor, path: str, version: int | None = None) -> SecretMetadata:
        """Make ``version`` (default: the pending one) ``current``; the old current
        becomes ``previous``. Idempotent: promoting what is already current changes
        nothing, so a retried rotation step is harmless; a crash before it leaves the
        old ``current`` serving."""
        check_path(path)
        c = self._c
        for _ in range(8):
            async with c.db.read() as s:
                row = await repo.get_secret(s, actor.tenant, path)
                if row is None:
                    raise SecretNotFound()
                target = version if version is not None else row.pending_version
                v = await repo.get_version(s, row.id, target) if target else None
            if row.current_version == target and target:  # already done (a retry)
                detail = {"version": target, "unchanged": True}
                await c.audit.append(c.event(actor, SecretAction.PROMOTE, path, **detail))
                return await self.metadata(actor, path)
            if v is None or v.destroyed_at is not None:
                raise NothingPending()
            labels: dict[str, object] = {
                "current_version": target,
                "previous_version": row.current_version,
                "updated_at": datetime.now(UTC),
            }
            if row.pending_version == target:
                labels["pending_version"] = 0
            async with c.db.transaction() as s:
                if await repo.relabel(s, row.id, row.current_version, **labels):
                    detail = {"version": target, "previous": row.current_version}
                    c.audit.record_in(s, c.event(actor, SecretAction.PROMOTE, path, **detail))
                    break
        c.changed(actor.tenant, path)
        return await self.metadata(actor, path)

    async def _row_for_update(self, s: AsyncSession, tenant: str, path: str) -> Secret:
        """The row, locked first (the transaction's first write: SQLite's write lock
        before any read snapshot, PostgreSQL's row lock)."""
        row = await repo.lock_secret(s, tenant, path, datetime.now(UTC))
        if row is None:
            raise SecretNotFound()
        return row

    async def _purge_pages(self) -> None:
        await self._c.db.purge_freed_pages("secret_values")


__all__ = ["Label", "MetadataChange", "SecretLifecycle"]
