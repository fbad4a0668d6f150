"""Scheduled deletion (crypto-shredding) and scheduled rotation."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import datetime, timedelta

import structlog

from strongroom.audit.actions import KeyAction
from strongroom.audit.models import Outcome
from strongroom.context import Actor
from strongroom.errors import InvalidPolicy, KeyConflict, StrongroomError
from strongroom.keys import unit
from strongroom.keys.core import KeyCore, to_info
from strongroom.keys.models import KeyInfo, KeyState, RotationReason
from strongroom.keys.rotation import RotationService
from strongroom.store import keys_repo

log = structlog.get_logger("strongroom.keys")
MAX_WAITING_DAYS = 365


def system_actor(tenant: str, task: str) -> Actor:
    return Actor(f"system:{task}", tenant, f"task-{uuid.uuid4().hex[:16]}", None)


class LifecycleService:
    def __init__(self, core: KeyCore, rotation: RotationService) -> None:
        self.core = core
        self.rotation = rotation

    async def _transition(
        self, actor: Actor, info: KeyInfo, action: KeyAction, event_name: str, **values: object
    ) -> KeyInfo:
        core, now = self.core, self.core.clock()
        claim = unit.compare_and_set(
            info.key_id, info.current_version, info.state.value, updated_at=now, **values
        )
        event = core.event(actor, action, Outcome.SUCCESS, info.user_id)
        history = unit.History(info.current_version, event_name, None, actor.principal, now)
        await core.unit.commit((info.tenant, info.user_id), claim, event, history)
        return await core.load(info.tenant, info.user_id, fresh=True)

    async def schedule_deletion(
        self, actor: Actor, user_id: str, waiting_days: float | None
    ) -> KeyInfo:
        """Disable the key now; destroy its material once the waiting period ends."""
        core = self.core
        days = core.settings.deletion_window_days if waiting_days is None else waiting_days
        async with core.audited(actor, KeyAction.DELETE_SCHEDULE, user_id):
            if not core.settings.min_deletion_window_days <= days <= MAX_WAITING_DAYS:
                raise InvalidPolicy(
                    "waiting period out of range", minimum=core.settings.min_deletion_window_days
                )
            info = await core.usable(actor, user_id, fresh=True)
            return await self._transition(
                actor,
                info,
                KeyAction.DELETE_SCHEDULE,
                "deletion-scheduled",
                state=KeyState.PENDING_DELETION.value,
                deletion_date=core.clock() + timedelta(days=days),
            )

    async def cancel_deletion(self, actor: Actor, user_id: str) -> KeyInfo:
        core = self.core
        async with core.audited(actor, KeyAction.DELETE_CANCEL, user_id):
            info = await core.load(actor.tenant, user_id, fresh=True)
            if info.state is not KeyState.PENDING_DELETION:
                raise InvalidPolicy("key is not scheduled for deletion")
            return await self._transition(
                actor,
                info,
                KeyAction.DELETE_CANCEL,
                "deletion-cancelled",
                state=KeyState.ENABLED.value,
                deletion_date=None,
            )

    async def destroy_due(self, now: datetime | None = None) -> int:
        """Destroy every key whose waiting period has ended; returns how many."""
        core = self.core
        now = now or core.clock()
        async with core.db.read() as s:
            due = [to_info(r, []) for r in await keys_repo.due_for_destruction(s, now)]
        destroyed = 0
        for info in due:
            if await self._destroy(info, now):
                destroyed += 1
        if destroyed:
            await core.db.purge_freed_pages()
        return destroyed

    async def _destroy(self, info: KeyInfo, now: datetime) -> bool:
        core, actor = self.core, system_actor(info.tenant, "shredder")
        claim = unit.compare_and_set_due(
            info.key_id,
            info.current_version,
            KeyState.PENDING_DELETION.value,
            ("deletion_date", now),  # still due: not cancelled and rescheduled meanwhile
            state=KeyState.DESTROYED.value,
            updated_at=now,
        )
        event = core.event(actor, KeyAction.DESTROY, Outcome.SUCCESS, info.user_id)
        history = unit.History(info.current_version, "destroyed", None, actor.principal, now)
        try:
            async with core.unit.change((info.tenant, info.user_id), claim, event, history) as c:
                versions = await keys_repo.destroy_material(c.session, info.key_id, now)
                keys_repo.add_tombstone(c.session, info.tenant, info.user_id, versions, now)
                c.event = dataclasses.replace(event, item_count=len(versions))
        except KeyConflict:  # cancelled or handled by another replica meanwhile
            return False
        log.info("key_destroyed", tenant=info.tenant, versions=len(versions))
        return True

    async def rotate_due(self, now: datetime | None = None) -> int:
        """Rotate every enabled key past its rotation period; returns how many."""
        core = self.core
        now = now or core.clock()
        async with core.db.read() as s:
            due = [(r.tenant_id, r.user_id) for r in await keys_repo.due_for_rotation(s, now)]
        rotated = 0
        for tenant, user_id in due:
            actor = system_actor(tenant, "scheduler")
            try:
                info = await core.usable(actor, user_id, fresh=True)
                await self.rotation.new_version(
                    actor, info, RotationReason.SCHEDULED, [], "", now=now, scheduled=True
                )
                rotated += 1
            except StrongroomError as exc:  # e.g. rotated concurrently by another replica
                log.info("scheduled_rotation_skipped", code=exc.code)
        return rotated
