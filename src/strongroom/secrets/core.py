"""What every vault operation shares: the database, the sealer, the audit sink and the
settings; the view of a version; sealing and opening values bound to their record."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from strongroom.audit.actions import SecretAction
from strongroom.audit.interfaces import AuditSink
from strongroom.audit.models import AuditEvent, Outcome
from strongroom.caching import SingleFlight
from strongroom.config import SecretsSettings
from strongroom.context import Actor
from strongroom.datakeys import Purpose, Sealer
from strongroom.secrets.models import FIELD, Label, VersionInfo, VersionState
from strongroom.store.db import Database
from strongroom.store.models import Secret, SecretVersion

PATH_KIND = "secretPath"  # audit/redact.py KINDS


class GoneHook(Protocol):
    """Told after versions stop existing for good (destroyed, or the whole secret
    deleted: ``version`` None), e.g. so shares of them end (secrets/shares*.py)."""

    async def __call__(self, actor: Actor, tenant: str, path: str, version: int | None) -> int: ...


# What a read found: the secret row, the version and its sealed value (None once
# destroyed); None when there is no such secret or version.
Found = tuple[Secret, SecretVersion, bytes | None] | None
# (tenant, path, version, label): one read as the API names it.
ReadKey = tuple[str, str, int | None, str | None]


def _path_of(key: ReadKey) -> tuple[str, str]:
    return key[0], key[1]


@dataclass
class SecretCore:
    db: Database
    sealer: Sealer
    audit: AuditSink
    settings: SecretsSettings
    # Wired by services/container.py (e.g. shares' delete_for_version).
    on_gone: list[GoneHook] = field(default_factory=list)
    # Reads of versions, for read_cache_ttl_seconds (docs/caching.md): rows and sealed
    # values only, so opening (and the state of a version at this instant: expiry,
    # deleteVersionAfter) is still decided per read. Every change of a path made here
    # drops that path's entries (``changed``) before it answers.
    reads: SingleFlight[ReadKey, Found] = field(init=False)

    def __post_init__(self) -> None:
        self.reads = SingleFlight(
            ttl=self.settings.read_cache_ttl_seconds,
            maxsize=self.settings.read_cache_size,
            group=_path_of,
            keep=lambda found: found is not None,
            name="secret_reads",
        )

    def changed(self, tenant: str, path: str) -> None:
        """A path's versions or labels changed here: its cached reads go (and a read
        in flight that started before is not stored)."""
        self.reads.forget_group((tenant, path))

    async def gone(self, actor: Actor, path: str, versions: Sequence[int] | None) -> None:
        for hook in self.on_gone:
            for v in versions if versions is not None else [None]:
                await hook(actor, actor.tenant, path, v)

    async def seal(self, tenant: str, path: str, version: int, value: bytes) -> bytes:
        return await self.sealer.seal(tenant, Purpose.SECRET, (path, str(version), FIELD), value)

    async def open(self, tenant: str, path: str, version: int, blob: bytes) -> dict[str, Any]:
        raw = await self.sealer.open(tenant, Purpose.SECRET, (path, str(version), FIELD), blob)
        data: dict[str, Any] = json.loads(raw)
        return data

    def event(
        self,
        actor: Actor,
        action: SecretAction,
        path: str,
        outcome: Outcome = Outcome.SUCCESS,
        /,
        **detail: Any,
    ) -> AuditEvent:
        # The path is the target, an identifier an operator may mark sensitive (then a
        # keyed tag: AUDIT_SENSITIVE_IDENTIFIERS secretPath); values never appear.
        return AuditEvent(
            actor, action, outcome, path, detail=detail or None, target_kind=PATH_KIND
        )


def labels_of(row: Secret, version: int) -> tuple[Label, ...]:
    out = []
    if row.current_version == version:
        out.append(Label.CURRENT)
    if row.pending_version == version:
        out.append(Label.PENDING)
    if row.previous_version == version:
        out.append(Label.PREVIOUS)
    return tuple(out)


def state_of(row: Secret, v: SecretVersion, now: datetime) -> VersionState:
    if v.destroyed_at is not None:
        return VersionState.DESTROYED
    if v.deleted_at is not None and v.deleted_at <= now:
        return VersionState.DELETED
    if (
        row.delete_version_after
        and v.created_at + timedelta(seconds=row.delete_version_after) <= now
    ):
        return VersionState.DELETED
    if v.expires_at is not None and v.expires_at <= now:
        return VersionState.EXPIRED
    return VersionState.LIVE


def deletion_time(row: Secret, v: SecretVersion) -> datetime | None:
    """When the version was or will be soft-deleted (explicitly, or by
    ``deleteVersionAfter``), whichever comes first."""
    auto = (
        v.created_at + timedelta(seconds=row.delete_version_after)
        if row.delete_version_after
        else None
    )
    times = [t for t in (v.deleted_at, auto) if t is not None]
    return min(times) if times else None


def info(row: Secret, v: SecretVersion, now: datetime) -> VersionInfo:
    return VersionInfo(
        version=v.version,
        created_at=v.created_at,
        created_by=v.created_by,
        state=state_of(row, v, now),
        deleted_at=deletion_time(row, v),
        destroyed_at=v.destroyed_at,
        expires_at=v.expires_at,
        labels=labels_of(row, v.version),
    )


def numbers(row: Secret, versions: Sequence[int] | None) -> list[int]:
    """The versions a delete/undelete/destroy names (None: the current one)."""
    if versions is None:
        return [row.current_version] if row.current_version else []
    return sorted(set(versions))
