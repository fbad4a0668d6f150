"""What the key services share: metadata loading and checks (``KeyCore``), the
cipher, the unit of work for row changes and the audit helpers.

The services talk to the key cache only through ``KeyCore.cache`` (keys/key_cache.py)
and change key rows only through ``KeyCore.unit`` (keys/unit.py); the constructor's
collaborators (caches, feed, hints, shared) exist to build those two."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from strongroom.audit.actions import KeyAction
from strongroom.audit.audited import audited
from strongroom.audit.interfaces import AuditSink
from strongroom.audit.models import AuditEvent, Outcome
from strongroom.config import KeysSettings
from strongroom.context import Actor
from strongroom.crypto.sizes import max_text_length
from strongroom.crypto.suites import SuiteId
from strongroom.errors import (
    InvalidInput,
    KeyDestroyed,
    KeyDisabled,
    KeyNotFound,
    PayloadTooLarge,
)
from strongroom.keys.cache import KeyCaches
from strongroom.keys.cipher import Cipher
from strongroom.keys.key_cache import ChangePublisher, Freshness, KeyCache, SharedMetadata
from strongroom.keys.models import KeyInfo, KeyState, VersionInfo, VersionState
from strongroom.keys.unit import KeyUnit
from strongroom.kms.interfaces import Kms
from strongroom.store import keys_repo
from strongroom.store.db import Database
from strongroom.store.models import KeyMaterial, UserKey, UserKeyVersion

# What an audit record's target is for key actions (audit/redact.py may HMAC it).
TARGET_KIND = "userId"


def utcnow() -> datetime:
    return datetime.now(UTC)


def to_info(row: UserKey, versions: Sequence[UserKeyVersion]) -> KeyInfo:
    return KeyInfo(
        key_id=row.id,
        tenant=row.tenant_id,
        user_id=row.user_id,
        key_type=row.key_type,
        state=KeyState(row.state),
        current_version=row.current_version,
        min_decryption_version=row.min_decryption_version,
        rotation_period_days=row.rotation_period_days,
        deletion_date=row.deletion_date,
        generation=row.generation,
        created_at=row.created_at,
        updated_at=row.updated_at,
        last_rotated_at=row.last_rotated_at,
        versions=tuple(
            VersionInfo(
                v.version, VersionState(v.state), v.created_at, v.destroyed_at, v.public_key
            )
            for v in versions
        ),
    )


@dataclass
class KeyCore:
    db: Database
    kms: Kms
    audit: AuditSink
    caches: KeyCaches
    settings: KeysSettings
    clock: Callable[[], datetime] = utcnow
    feed: Freshness | None = None  # says whether cached metadata may be trusted now
    hints: ChangePublisher | None = None  # tells other replicas at once (optional)
    shared: SharedMetadata | None = None  # Redis second level for metadata (optional)

    def __post_init__(self) -> None:
        self.cache = KeyCache(self.caches, self.feed, self.hints, self.shared)
        self.unit = KeyUnit(self.db, self.audit, self.cache)
        self.cipher = Cipher(
            self.kms, self.caches, self.settings.ciphertext_prefix, self.load_material
        )

    async def load_material(self, key_id: int, version: int) -> KeyMaterial | None:
        async with self.db.read() as s:
            return await keys_repo.get_material(s, key_id, version)

    async def load(self, tenant: str, user_id: str, *, fresh: bool = False) -> KeyInfo:
        """The key's metadata (from the short-lived cache unless ``fresh``)."""

        async def read() -> KeyInfo:
            async with self.db.read() as s:
                row = await keys_repo.get_key(s, tenant, user_id)
                if row is None:
                    raise KeyNotFound()
                return to_info(row, await keys_repo.get_versions(s, row.id))

        return await self.cache.info((tenant, user_id), read, fresh=fresh)

    async def usable(self, actor: Actor, user_id: str, *, fresh: bool = False) -> KeyInfo:
        """A key that may encrypt and decrypt now."""
        info = await self.load(actor.tenant, user_id, fresh=fresh)
        if info.state is KeyState.DESTROYED:
            raise KeyDestroyed()
        if info.state is KeyState.PENDING_DELETION:
            raise KeyDisabled()
        return info

    def check_batch(self, items: Sequence[Any]) -> None:
        if len(items) > self.settings.max_items_per_batch:
            raise PayloadTooLarge(limit=self.settings.max_items_per_batch)

    def check_context(self, context: str | None) -> str:
        context = context or ""
        if len(context) > self.settings.max_context_length:
            raise InvalidInput("context too long", limit=self.settings.max_context_length)
        return context

    def encode_items(self, items: Sequence[str]) -> list[bytes]:
        """UTF-8 of each item, within the per-item size limit (whole-batch passes first:
        the per-item loop only runs to name the bad item)."""
        try:
            out = [item.encode() for item in items]
        except UnicodeEncodeError:  # lone surrogates are valid JSON but not UTF-8
            index = next(i for i, item in enumerate(items) if not _encodable(item))
            raise InvalidInput("item is not valid Unicode", index=index) from None
        self._check_sizes(out)
        return out

    def check_text_sizes(self, texts: Sequence[str], suite: SuiteId) -> None:
        """Size limit for ciphertexts, derived from the plaintext limit for the user's
        suite, so that whatever encrypt accepted, decrypt, rotate and rewrap accept too.
        Texts are ASCII, so characters are bytes (a non-ASCII one fails parsing anyway,
        with ENC001)."""
        prefix = self.settings.ciphertext_prefix
        self._check_sizes(texts, max_text_length(prefix, suite, self.settings.max_item_bytes))

    def _check_sizes(
        self, items: Sequence[str] | Sequence[bytes], limit: int | None = None
    ) -> None:
        limit = self.settings.max_item_bytes if limit is None else limit
        if items and max(map(len, items)) > limit:
            index = next(i for i, item in enumerate(items) if len(item) > limit)
            raise PayloadTooLarge("item too large", index=index, limit=limit)

    def event(
        self,
        actor: Actor,
        action: KeyAction,
        outcome: Outcome,
        target: str | None,
        count: int | None = None,
        detail: dict[str, Any] | None = None,
    ) -> AuditEvent:
        return AuditEvent(
            actor=actor,
            action=action,
            outcome=outcome,
            target=target,
            item_count=count,
            detail=detail or None,
            target_kind=TARGET_KIND,
        )

    def audited(
        self, actor: Actor, action: KeyAction, user_id: str, count: int | None = None
    ) -> AbstractAsyncContextManager[None]:
        """A failure of the enclosed key action appends its failure record, then re-raises."""
        return audited(self.audit, actor, action, user_id, count=count, target_kind=TARGET_KIND)


def _encodable(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True
