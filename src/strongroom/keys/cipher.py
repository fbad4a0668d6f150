"""Batch encryption and decryption for one user's key, using the caches.

Every failure to open an item becomes the same ``InvalidCiphertext`` naming only
the item's index; the specific reason is logged, never returned (no oracle).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NoReturn

import structlog

from strongroom.crypto import codec, envelope, suites
from strongroom.crypto.binding import Binding
from strongroom.crypto.errors import CiphertextError
from strongroom.errors import InternalError, InvalidCiphertext, KeyDestroyed, StrongroomError
from strongroom.keys.cache import KeyCaches
from strongroom.keys.models import KeyInfo, VersionState
from strongroom.kms.interfaces import Kms, KmsError, Wrapped

log = structlog.get_logger("strongroom.keys")

# Loads the wrapped material of (key_id, version) from the database, or None.
MaterialLoader = Callable[[int, int], Any]


def wrap_context(info_tenant: str, user_id: str, version: int, key_type: str) -> dict[str, str]:
    """What a user key's wrapped material is bound to inside the KMS."""
    return {
        "purpose": "user-key",
        "tenant": info_tenant,
        "user": user_id,
        "version": str(version),
        "type": key_type,
    }


class StaleKeyInfo(Exception):
    """An item names a key version newer than the cached metadata: re-read and retry."""


class Cipher:
    def __init__(self, kms: Kms, caches: KeyCaches, prefix: str, load_material: Any) -> None:
        self._kms = kms
        self._caches = caches
        self.prefix = prefix
        self._load_material = load_material

    def binding(self, info: KeyInfo, version: int, context: str) -> Binding:
        return Binding(info.suite, info.tenant, info.user_id, version, context)

    # encrypt -----------------------------------------------------------------
    def _recipient(self, info: KeyInfo) -> Any:
        ref = (info.tenant, info.user_id)
        key = self._caches.get_public(ref, info.current_version)
        if key is None:
            public = info.current.public_key
            if public is None:
                raise InternalError()
            key = suites.load_public(info.suite, public)
            self._caches.put_public(ref, info.current_version, key)
        return key

    async def encrypt(
        self, info: KeyInfo, items: Sequence[bytes], context: str, version_key: Any = None
    ) -> list[str]:
        """Seal a batch under one fresh data key for the current version."""
        version = info.current_version
        if suites.is_asymmetric(info.suite):
            recipient = version_key if version_key is not None else self._recipient(info)
        else:
            recipient = version_key or await self._private_key(info, version)
        dk = envelope.new_data_key(self.binding(info, version, context), recipient)
        head = codec.text_prefix(self.prefix, version)
        return codec.b64url_texts(head, dk.seal_batch(items))

    # decrypt -----------------------------------------------------------------
    async def decrypt(
        self,
        info: KeyInfo,
        items: Sequence[str],
        context: str,
        *,
        fresh: bool = False,
        start: int = 0,
    ) -> list[bytes]:
        """Open a batch (from ``start``: errors name the index in ``items``). Raises
        ``StaleKeyInfo`` if an item names a version newer than ``info`` (another replica
        rotated) unless ``fresh`` says ``info`` was just read."""
        out: list[bytes] = []
        opened: dict[tuple[int, bytes], envelope.DataKey] = {}
        index, n = start, len(items)
        while index < n:
            try:
                version, payload = codec.parse_text(self.prefix, items[index])
                if version > info.current_version and not fresh:
                    raise StaleKeyInfo()
                self._check_version(info, version, index)
                dk = opened.get((version, payload.header))
                if dk is None:
                    dk = await self._data_key(info, version, payload, context)
                    opened[(version, payload.header)] = dk
                out.append(dk.open(payload))
            except CiphertextError as exc:
                self._reject(exc, index)
            index += 1
            # Items sealed in one request sit together: open the run that shares this
            # item's data key without parsing each one in full.
            head = codec.text_prefix(self.prefix, version)
            pairs, stop = codec.split_run(head, dk.prefix, items, index)
            try:
                out += dk.open_pairs(pairs)
            except CiphertextError as exc:
                self._reject(exc, index + exc.position)
            index = stop
        return out

    async def decrypt_each(
        self, info: KeyInfo, items: Sequence[str], context: str, *, fresh: bool = False
    ) -> list[bytes | StrongroomError]:
        """Per-item results (opt-in, keys/per_item.py): each item's plaintext, or the
        error naming its index. An error that names no item (KMS, a key destroyed
        meanwhile) still fails the whole batch. The batch path does the work: after a
        bad item, the items before it are opened again (at most twice each in all)."""
        out: list[bytes | StrongroomError] = []
        start, n = 0, len(items)
        while start < n:
            try:
                out += await self.decrypt(info, items, context, fresh=fresh, start=start)
                break
            except (InvalidCiphertext, KeyDestroyed) as exc:
                bad = exc.detail.get("index")
                if not isinstance(bad, int):
                    raise
                if bad > start:
                    out += await self.decrypt(info, items[start:bad], context, fresh=fresh)
                out.append(exc)
                start = bad + 1
        return out

    @staticmethod
    def _reject(exc: CiphertextError, index: int) -> NoReturn:
        log.info("ciphertext_rejected", reason=exc.reason, index=index)
        raise InvalidCiphertext(index=index) from None

    def _check_version(self, info: KeyInfo, version: int, index: int) -> None:
        v = info.version(version)
        if v is not None and v.state is VersionState.DESTROYED:
            raise KeyDestroyed(index=index)
        if v is None or version < info.min_decryption_version:
            raise CiphertextError("version-not-usable")

    async def _data_key(
        self, info: KeyInfo, version: int, payload: codec.Payload, context: str
    ) -> envelope.DataKey:
        if payload.suite != info.suite:
            raise CiphertextError("suite-mismatch")
        ref = (info.tenant, info.user_id)
        cache_id = self._caches.data_key_id(ref, version, payload.header, context)

        async def load() -> envelope.DataKey:
            private = await self._private_key(info, version)
            return envelope.open_data_key(
                self.binding(info, version, context), private, payload.header
            )

        return await self._caches.data_key(cache_id, load)

    async def _private_key(self, info: KeyInfo, version: int) -> Any:
        """One database read and one KMS unwrap per (tenant, user, version), however
        many requests want it at once."""

        async def load() -> Any:
            material = await self._load_material(info.key_id, version)
            if material is None:  # destroyed between metadata read and now
                raise KeyDestroyed()
            ctx = wrap_context(info.tenant, info.user_id, version, info.key_type)
            try:
                raw = await self._kms.unwrap(Wrapped(material.kms_key_ref, material.wrapped), ctx)
            except KmsError as exc:  # 503 when unavailable, else 500; both SYS001
                log.error("kms_unwrap_failed", error_type=type(exc).__name__, reason=exc.reason)
                raise
            return suites.load_private(info.suite, raw) if suites.is_asymmetric(info.suite) else raw

        return await self._caches.private((info.tenant, info.user_id), version, load)
