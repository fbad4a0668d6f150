"""Key service: create, encrypt, decrypt, rewrap, metadata, history, policy."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

from sqlalchemy.exc import IntegrityError

from strongroom.audit.actions import KeyAction
from strongroom.audit.audited import failure_event
from strongroom.audit.models import Outcome
from strongroom.context import Actor
from strongroom.crypto import suites
from strongroom.errors import (
    InvalidCiphertext,
    InvalidPolicy,
    KeyExists,
    KeyNotFound,
    StrongroomError,
)
from strongroom.keys import unit
from strongroom.keys.cipher import StaleKeyInfo, wrap_context
from strongroom.keys.core import TARGET_KIND, KeyCore
from strongroom.keys.models import HistoryEntry, KeyInfo, KeyState, RotationReason
from strongroom.keys.per_item import PerItem
from strongroom.observability.metrics import CRYPTO_ITEMS
from strongroom.store import keys_repo

T = TypeVar("T")
# CRYPTO_ITEMS's children by (action, success): looked up on every data request.
_ITEMS: dict[tuple[KeyAction, bool], Any] = {}


def _items(action: KeyAction, ok: bool) -> Any:
    child = _ITEMS.get((action, ok))
    if child is None:
        child = _ITEMS[action, ok] = CRYPTO_ITEMS.labels(action, "success" if ok else "failure")
    return child


MAX_ROTATION_DAYS = 3650
_UNAUDITED = ("next_rotation_at", "updated_at")


class KeyService:
    def __init__(self, core: KeyCore) -> None:
        self.core = core
        self._per_item = PerItem(core)

    async def _audited(
        self,
        actor: Actor,
        action: KeyAction,
        user_id: str,
        count: int | None,
        op: Callable[[], Awaitable[T]],
    ) -> T:
        """Run ``op``; append a success or failure record before returning (fail closed).
        The failure half is ``core.audited`` written out: this runs on every data
        request, and the generator-based context manager was a visible share of one."""
        try:
            result = await op()
        except StrongroomError as exc:
            _items(action, False).inc(count or 0)
            await self.core.audit.append(
                failure_event(actor, action, user_id, exc, count, TARGET_KIND)
            )
            raise
        # Read-only: the result is the only effect, so the HTTP edge may hold it
        # until the record is durable instead of this call waiting (audit/release.py).
        # Its items count as done only once released: a refused record makes them failed.
        await self.core.audit.append_before_release(
            self.core.event(actor, action, Outcome.SUCCESS, user_id, count),
            lambda ok: _items(action, ok).inc(count or 0),
        )
        return result

    # create ------------------------------------------------------------------
    async def create(
        self, actor: Actor, user_id: str, key_type: str | None, rotation_days: int | None
    ) -> KeyInfo:
        core = self.core
        # A plain str from here on: it is stored, bound into the KMS context and audited.
        key_type = str(key_type or core.settings.default_key_type)
        days = rotation_days or core.settings.default_rotation_days
        if key_type not in suites.KEY_TYPES:
            raise InvalidPolicy("unknown key type")
        if not 1 <= days <= MAX_ROTATION_DAYS:
            raise InvalidPolicy("rotation period out of range")
        async with core.audited(actor, KeyAction.CREATE, user_id):
            return await self._create(actor, user_id, key_type, days)

    async def _create(self, actor: Actor, user_id: str, key_type: str, days: int) -> KeyInfo:
        core, now = self.core, self.core.clock()
        existing: KeyInfo | None
        try:
            existing = await core.load(actor.tenant, user_id, fresh=True)
        except KeyNotFound:
            existing = None
        if existing is not None and existing.state is not KeyState.DESTROYED:
            raise KeyExists()
        # A re-created key continues the version numbers, so ciphertexts of the
        # destroyed versions keep answering "key destroyed" rather than failing to open.
        version = 1 if existing is None else max(v.version for v in existing.versions) + 1
        material = suites.generate(suites.KEY_TYPES[key_type])
        ctx = wrap_context(actor.tenant, user_id, version, key_type)
        wrapped = await core.kms.wrap(material.private, ctx)
        values = dict(
            key_type=key_type,
            current_version=version,
            min_decryption_version=version,
            rotation_period_days=days,
            state=KeyState.ENABLED.value,
            deletion_date=None,
            updated_at=now,
            last_rotated_at=now,
            next_rotation_at=now + timedelta(days=days),
        )
        claim = (
            unit.insert(actor.tenant, user_id, now, **values)
            if existing is None
            else unit.compare_and_set(
                existing.key_id, existing.current_version, KeyState.DESTROYED.value, **values
            )
        )
        event = core.event(
            actor,
            KeyAction.CREATE,
            Outcome.SUCCESS,
            user_id,
            detail={"version": version, "key_type": key_type},
        )
        history = unit.History(version, "created", RotationReason.CREATED, actor.principal, now)
        try:
            async with core.unit.change((actor.tenant, user_id), claim, event, history) as c:
                await keys_repo.add_version(
                    c.session,
                    c.key_id,
                    version,
                    material.public or None,
                    wrapped.key_ref,
                    wrapped.blob,
                    now,
                )
        except IntegrityError:
            raise KeyExists() from None
        return await core.load(actor.tenant, user_id, fresh=True)

    # encrypt / decrypt / rewrap ------------------------------------------------
    async def encrypt(
        self, actor: Actor, user_id: str, data: list[str], context: str | None
    ) -> list[str]:
        async def op() -> list[str]:
            core = self.core
            core.check_batch(data)
            ctx = core.check_context(context)
            items = core.encode_items(data)
            info = await core.usable(actor, user_id)
            return await core.cipher.encrypt(info, items, ctx)

        return await self._audited(actor, KeyAction.ENCRYPT, user_id, len(data), op)

    async def decrypt(
        self, actor: Actor, user_id: str, data: list[str], context: str | None
    ) -> list[str]:
        async def op() -> list[str]:
            plain = await self._open(actor, user_id, data, context)
            try:
                return [raw.decode() for raw in plain]
            except UnicodeDecodeError:  # made offline with the public key, not text
                index = next(i for i, raw in enumerate(plain) if not _is_utf8(raw))
                raise InvalidCiphertext(index=index) from None

        return await self._audited(actor, KeyAction.DECRYPT, user_id, len(data), op)

    async def _open(
        self, actor: Actor, user_id: str, data: list[str], context: str | None
    ) -> list[bytes]:
        core = self.core
        core.check_batch(data)
        ctx = core.check_context(context)
        info = await core.usable(actor, user_id)
        core.check_text_sizes(data, info.suite)
        try:
            return await core.cipher.decrypt(info, data, ctx)
        except StaleKeyInfo:  # another replica rotated since our metadata was cached
            info = await core.usable(actor, user_id, fresh=True)
            return await core.cipher.decrypt(info, data, ctx, fresh=True)

    async def rewrap(
        self, actor: Actor, user_id: str, data: list[str], context: str | None
    ) -> tuple[list[str], int]:
        """Re-encrypt under the current version without rotating; returns (items, version)."""

        async def op() -> tuple[list[str], int]:
            plain = await self._open(actor, user_id, data, context)
            info = await self.core.usable(actor, user_id, fresh=True)
            ctx = self.core.check_context(context)
            return await self.core.cipher.encrypt(info, plain, ctx), info.current_version

        return await self._audited(actor, KeyAction.REWRAP, user_id, len(data), op)

    async def decrypt_each(
        self, actor: Actor, user_id: str, data: list[str], context: str | None
    ) -> list[str | StrongroomError]:
        """``decrypt`` answering each item's plaintext or error (opt-in: keys/per_item.py)."""
        return await self._per_item.decrypt(actor, user_id, data, context)

    async def rewrap_each(
        self, actor: Actor, user_id: str, data: list[str], context: str | None
    ) -> tuple[list[str | StrongroomError], int]:
        """``rewrap`` answering each item's result or error (opt-in: keys/per_item.py)."""
        return await self._per_item.rewrap(actor, user_id, data, context)

    # metadata ----------------------------------------------------------------
    async def metadata(self, actor: Actor, user_id: str) -> KeyInfo:
        return await self.core.load(actor.tenant, user_id, fresh=True)

    async def history(self, actor: Actor, user_id: str) -> list[HistoryEntry]:
        info = await self.core.load(actor.tenant, user_id, fresh=True)
        async with self.core.db.read() as s:
            rows = await keys_repo.history(s, info.key_id)
        return [
            HistoryEntry(r.version, r.event, r.rotation_reason, r.actor, r.rotation_date)
            for r in rows
        ]

    async def update_policy(
        self, actor: Actor, user_id: str, min_version: int | None, rotation_days: int | None
    ) -> KeyInfo:
        core = self.core
        async with core.audited(actor, KeyAction.POLICY, user_id):
            info = await core.usable(actor, user_id, fresh=True)
            values = self._policy_values(info, min_version, rotation_days)
            detail = {k: str(v) for k, v in values.items() if k not in _UNAUDITED}
            claim = unit.compare_and_set(
                info.key_id, info.current_version, info.state.value, **values
            )
            event = core.event(actor, KeyAction.POLICY, Outcome.SUCCESS, user_id, detail=detail)
            await core.unit.commit((actor.tenant, user_id), claim, event)
        return await core.load(actor.tenant, user_id, fresh=True)

    def _policy_values(
        self, info: KeyInfo, min_version: int | None, rotation_days: int | None
    ) -> dict[str, object]:
        values: dict[str, object] = {"updated_at": self.core.clock()}
        if min_version is not None:
            if not 1 <= min_version <= info.current_version:
                raise InvalidPolicy("minDecryptionVersion must be between 1 and current version")
            values["min_decryption_version"] = min_version
        if rotation_days is not None:
            if not 1 <= rotation_days <= MAX_ROTATION_DAYS:
                raise InvalidPolicy("rotationPeriodDays out of range")
            values["rotation_period_days"] = rotation_days
            values["next_rotation_at"] = info.last_rotated_at + timedelta(days=rotation_days)
        return values


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode()
    except UnicodeDecodeError:
        return False
    return True
