"""What every stored-key operation shares: the database, the sealer, the audit sink,
the settings and the state cache; sealing values bound to their key and slot; the
view of a row; the audit record of an action."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from strongroom.audit.actions import ApiKeyAction, ProjectAction
from strongroom.audit.interfaces import AuditSink
from strongroom.audit.models import AuditEvent, Outcome
from strongroom.config import ApiKeysSettings
from strongroom.context import Actor
from strongroom.credentials.contract import (
    Injection,
    InjectionKind,
    KeyState,
    KeySummary,
    Sensitivity,
    UsageSink,
)
from strongroom.credentials.models import KeyInfo, Slot, resource
from strongroom.credentials.usage import NullUsage
from strongroom.datakeys import Purpose, Sealer
from strongroom.store.db import Database
from strongroom.store.models import ApiKey, Project

SYSTEM_ACTOR = "system:credentials"  # blocks by anomaly rules, reminders


@dataclass
class KeyCore:
    db: Database
    sealer: Sealer
    audit: AuditSink
    settings: ApiKeysSettings
    # Told (tenant, project, key) after a change commits, so this replica's state
    # cache drops the key at once (credentials/resolver.py); others within its TTL.
    on_change: list[Any] = field(default_factory=list)
    # Told of every reveal (Use kind REVEAL); usage analytics replace the default.
    usage: UsageSink = field(default_factory=NullUsage)

    def changed(self, tenant: str, project: str, key: str) -> None:
        for hook in self.on_change:
            hook(tenant, project, key)

    async def seal(self, tenant: str, row: ApiKey, project: str, slot: Slot, value: bytes) -> bytes:
        return await self.sealer.seal(tenant, Purpose.API_KEY, _parts(row, project, slot), value)

    async def open(self, tenant: str, row: ApiKey, project: str, slot: Slot, blob: bytes) -> bytes:
        return await self.sealer.open(tenant, Purpose.API_KEY, _parts(row, project, slot), blob)

    def event(
        self,
        actor: Actor,
        action: ApiKeyAction | ProjectAction,
        target: str,
        outcome: Outcome = Outcome.SUCCESS,
        /,
        **detail: Any,
    ) -> AuditEvent:
        # The target is ``project/key`` (or the project): names, never values.
        return AuditEvent(actor, action, outcome, target, detail=detail or None)


def _parts(row: ApiKey, project: str, slot: Slot) -> tuple[str, ...]:
    # Its creation time too (known before the row has an id, so the value is sealed
    # before the transaction that stores it): a key deleted and created again under
    # the same name can never be handed the old one's sealed rows.
    born = row.created_at.astimezone(UTC).isoformat(timespec="microseconds")
    return (project, row.name, born, slot.value)


def state_of(row: ApiKey, now: datetime | None = None) -> KeyState:
    state = KeyState(row.state)
    expires = row.expires_at
    if state is KeyState.ACTIVE and expires is not None and expires <= (now or datetime.now(UTC)):
        return KeyState.EXPIRED
    return state


def injection_of(row: ApiKey) -> Injection:
    return Injection(InjectionKind(row.injection_kind), row.injection_name, row.injection_template)


def info(row: ApiKey, project: Project, *, replayed: bool = False) -> KeyInfo:
    return KeyInfo(
        project=project.name,
        name=row.name,
        key_id=row.id,
        provider=row.provider,
        hosts=tuple(row.hosts),
        allowed_networks=tuple(row.allowed_networks),
        injection=injection_of(row),
        expires_at=row.expires_at,
        rotate_after_days=row.rotate_after_days,
        rotated_at=row.rotated_at,
        previous_until=row.previous_until,
        rotation_hook=row.rotation_hook,
        owners=tuple(row.owners),
        tags=dict(row.tags),
        sensitivity=Sensitivity(row.sensitivity),
        state=state_of(row),
        state_reason=row.state_reason,
        version=row.version,
        created_at=row.created_at,
        created_by=row.created_by,
        updated_at=row.updated_at,
        replayed=replayed,
    )


def summary(tenant: str, k: KeyInfo) -> KeySummary:
    return KeySummary(
        tenant=tenant,
        project=k.project,
        name=k.name,
        key_id=k.key_id,
        provider=k.provider,
        hosts=k.hosts,
        tags=dict(k.tags),
        state=k.state,
        sensitivity=k.sensitivity,
        expires_at=k.expires_at,
    )


__all__ = ["SYSTEM_ACTOR", "KeyCore", "info", "resource", "state_of", "summary"]
