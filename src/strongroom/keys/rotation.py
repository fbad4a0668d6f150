"""Rotation: a new key version, and all-or-nothing re-encryption of the caller's data."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from strongroom.audit.actions import KeyAction
from strongroom.audit.models import Outcome
from strongroom.context import Actor
from strongroom.crypto import codec, suites
from strongroom.errors import PayloadTooLarge, StrongroomError
from strongroom.keys import unit
from strongroom.keys.cipher import wrap_context
from strongroom.keys.core import KeyCore
from strongroom.keys.models import KeyInfo, KeyState, RotationReason, VersionInfo, VersionState
from strongroom.store import keys_repo

Path = tuple[int, tuple[str | int, ...]]


def find_ciphertexts(prefix: str, data: Sequence[Any]) -> list[tuple[Path, str]]:
    """Every Strongroom ciphertext in ``data``: top-level strings, or strings at any
    depth inside objects and arrays. Other values are not touched."""
    found: list[tuple[Path, str]] = []

    def walk(index: int, path: tuple[str | int, ...], value: Any) -> None:
        if isinstance(value, str):
            if codec.looks_like_ciphertext(prefix, value):
                found.append(((index, path), value))
        elif isinstance(value, dict):
            for k, v in value.items():
                walk(index, (*path, k), v)
        elif isinstance(value, list):
            for i, v in enumerate(value):
                walk(index, (*path, i), v)

    for index, item in enumerate(data):
        walk(index, (), item)
    return found


def replace_at(data: Sequence[Any], replacements: dict[Path, str]) -> list[Any]:
    def rebuild(index: int, path: tuple[str | int, ...], value: Any) -> Any:
        if (index, path) in replacements:
            return replacements[(index, path)]
        if isinstance(value, dict):
            return {k: rebuild(index, (*path, k), v) for k, v in value.items()}
        if isinstance(value, list):
            return [rebuild(index, (*path, i), v) for i, v in enumerate(value)]
        return value

    return [rebuild(i, (), item) for i, item in enumerate(data)]


class RotationService:
    def __init__(self, core: KeyCore) -> None:
        self.core = core

    async def rotate(
        self,
        actor: Actor,
        user_id: str,
        data: list[Any],
        reason: RotationReason,
        context: str | None,
    ) -> tuple[list[Any], int]:
        """Returns ``data`` with every ciphertext re-encrypted, and the new version."""
        core = self.core
        found = find_ciphertexts(core.settings.ciphertext_prefix, data)
        async with core.audited(actor, KeyAction.ROTATE, user_id, len(found)):
            core.check_batch(data)
            if len(found) > core.settings.max_items_per_batch:
                raise PayloadTooLarge(limit=core.settings.max_items_per_batch)
            ctx = core.check_context(context)
            info = await core.usable(actor, user_id, fresh=True)
            texts = [t for _, t in found]
            core.check_text_sizes(texts, info.suite)
            try:
                plain = await core.cipher.decrypt(info, texts, ctx, fresh=True)
            except StrongroomError as exc:
                # Name the caller's item (and the field inside it), not our flat index.
                if "index" in exc.detail:
                    index, path = found[exc.detail["index"]][0]
                    exc.detail = {"index": index, "path": "/".join(map(str, path))}
                raise
            fresh = await self.new_version(actor, info, reason, plain, ctx)
        out = replace_at(data, {p: c for (p, _), c in zip(found, fresh, strict=True)})
        return out, info.current_version + 1

    async def new_version(
        self,
        actor: Actor,
        info: KeyInfo,
        reason: RotationReason,
        plain: Sequence[bytes],
        context: str,
        now: datetime | None = None,
        scheduled: bool = False,
    ) -> list[str]:
        """Create version n+1, seal ``plain`` under it, then commit only if version n
        is still current (compare-and-set); otherwise KEY002 and nothing changes.
        ``scheduled``: also only if the key is still due for rotation at ``now``, so
        two replicas' passes (or a pass racing a manual rotation) rotate once."""
        core = self.core
        now = now or core.clock()
        version = info.current_version + 1
        material = suites.generate(info.suite)
        wrapped = await core.kms.wrap(
            material.private, wrap_context(info.tenant, info.user_id, version, info.key_type)
        )
        recipient = (
            suites.load_public(info.suite, material.public)
            if suites.is_asymmetric(info.suite)
            else material.private
        )
        new_info = dataclasses.replace(
            info,
            current_version=version,
            versions=(
                *info.versions,
                VersionInfo(version, VersionState.ACTIVE, now, None, material.public or None),
            ),
        )
        sealed = await core.cipher.encrypt(new_info, plain, context, version_key=recipient)
        values: dict[str, object] = {
            "current_version": version,
            "updated_at": now,
            "last_rotated_at": now,
            "next_rotation_at": now + timedelta(days=info.rotation_period_days),
        }
        state = KeyState.ENABLED.value
        claim = (
            unit.compare_and_set_due(
                info.key_id, info.current_version, state, ("next_rotation_at", now), **values
            )
            if scheduled
            else unit.compare_and_set(info.key_id, info.current_version, state, **values)
        )
        event = core.event(
            actor,
            KeyAction.ROTATE,
            Outcome.SUCCESS,
            info.user_id,
            len(plain),
            detail={"version": version, "reason": reason.value},
        )
        history = unit.History(version, "rotated", reason.value, actor.principal, now)
        async with core.unit.change((info.tenant, info.user_id), claim, event, history) as c:
            await keys_repo.add_version(
                c.session,
                info.key_id,
                version,
                material.public or None,
                wrapped.key_ref,
                wrapped.blob,
                now,
            )
        return sealed
