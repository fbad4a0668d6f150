"""PKCS#11 HSM backend (python-pkcs11): an AES-256 root key that never leaves the token.

Wrapped blob invariant: ``0x01 || nonce (12) || AES-256-GCM(ct || tag)`` computed
inside the token (CKM_AES_GCM, 128-bit tag) with the canonical context encoding as
AAD. ``key_ref`` is ``pkcs11:{token label}/{key label}``: a new root key version is
a new key label, and ``rewrap`` moves a blob from the label it names to the
configured one. The root key is generated in the token as sensitive and
non-extractable when ``create`` is set and no key has the label.

PKCS#11 calls block and a session is not safe for concurrent use: every call runs
on one dedicated thread holding one logged-in session.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import pkcs11
from pkcs11 import Attribute, GCMParams, KeyType, Mechanism, ObjectClass
from pkcs11 import exceptions as p11e

from strongroom.kms.interfaces import KmsError, KmsUnavailable, Wrapped, encode_context

_FORMAT = 0x01
_NONCE = 12
T = TypeVar("T")

# Failures of the device or session (worth a retry after reopening), as opposed to
# a refusal of this input (bad tag, unknown key) which is permanent.
_TRANSIENT = (
    p11e.DeviceError,
    p11e.DeviceMemory,
    p11e.DeviceRemoved,
    p11e.TokenNotPresent,
    p11e.SessionClosed,
    p11e.SessionHandleInvalid,
    p11e.UserNotLoggedIn,
    p11e.HostMemory,
)


class Pkcs11Kms:
    name = "pkcs11"

    def __init__(
        self, library: str, token_label: str, pin: str, key_label: str, *, create: bool = False
    ) -> None:
        self._library, self._token_label, self._pin = library, token_label, pin
        self._label, self._create = key_label, create
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="pkcs11")
        self._session: Any = None
        self._keys: dict[str, Any] = {}

    @property
    def key_ref(self) -> str:
        return f"pkcs11:{self._token_label}/{self._label}"

    async def wrap(self, plaintext: bytes, context: Mapping[str, str]) -> Wrapped:
        blob = await self._run(lambda: self._encrypt(self._label, plaintext, context))
        return Wrapped(self.key_ref, blob)

    async def unwrap(self, wrapped: Wrapped, context: Mapping[str, str]) -> bytes:
        label = self._label_of(wrapped.key_ref)
        blob = wrapped.blob
        if len(blob) < 1 + _NONCE + 16 or blob[0] != _FORMAT:
            raise KmsError("malformed wrapped key")
        return await self._run(lambda: self._decrypt(label, blob, context))

    async def rewrap(self, wrapped: Wrapped, context: Mapping[str, str]) -> Wrapped:
        return await self.wrap(await self.unwrap(wrapped, context), context)

    async def health(self) -> bool:
        try:
            await self._run(lambda: self._key(self._label))
        except KmsError:
            return False
        return True

    async def close(self) -> None:
        await self._run_raw(self._close_session)
        self._thread.shutdown(wait=True)

    def _label_of(self, key_ref: str) -> str:
        prefix = f"pkcs11:{self._token_label}/"
        if not key_ref.startswith(prefix):
            raise KmsError("wrapped under a different token")
        return key_ref[len(prefix) :]

    # -- on the PKCS#11 thread -------------------------------------------------

    def _encrypt(self, label: str, plaintext: bytes, context: Mapping[str, str]) -> bytes:
        nonce = os.urandom(_NONCE)
        params = GCMParams(nonce, encode_context(context), 128)
        ct = self._key(label).encrypt(
            plaintext, mechanism=Mechanism.AES_GCM, mechanism_param=params
        )
        return bytes([_FORMAT]) + nonce + bytes(ct)

    def _decrypt(self, label: str, blob: bytes, context: Mapping[str, str]) -> bytes:
        params = GCMParams(blob[1 : 1 + _NONCE], encode_context(context), 128)
        key = self._key(label)
        return bytes(
            key.decrypt(blob[1 + _NONCE :], mechanism=Mechanism.AES_GCM, mechanism_param=params)
        )

    def _key(self, label: str) -> Any:
        if label in self._keys:
            return self._keys[label]
        session = self._open()
        try:
            key = session.get_key(ObjectClass.SECRET_KEY, KeyType.AES, label=label)
        except p11e.NoSuchKey:
            if not (self._create and label == self._label):
                raise KmsError("root key not found in the token") from None
            key = session.generate_key(
                KeyType.AES,
                256,
                label=label,
                store=True,
                template={
                    Attribute.SENSITIVE: True,
                    Attribute.EXTRACTABLE: False,
                    Attribute.ENCRYPT: True,
                    Attribute.DECRYPT: True,
                },
            )
        self._keys[label] = key
        return key

    def _open(self) -> Any:
        if self._session is None:
            lib = pkcs11.lib(self._library)
            token = lib.get_token(token_label=self._token_label)
            self._session = token.open(rw=True, user_pin=self._pin)
        return self._session

    def _close_session(self) -> None:
        self._keys.clear()
        if self._session is not None:
            session, self._session = self._session, None
            with contextlib.suppress(p11e.PKCS11Error):  # already gone with the device
                session.close()

    async def _run(self, fn: Callable[[], T]) -> T:
        try:
            return await self._run_raw(fn)
        except _TRANSIENT:
            await self._run_raw(self._close_session)  # reopen on the next call
            raise KmsUnavailable("HSM unavailable") from None
        except p11e.NoSuchToken:
            raise KmsUnavailable("HSM token not present") from None
        except (p11e.PinIncorrect, p11e.PinLocked):
            # Never retried: repeated wrong PINs lock the token.
            raise KmsError("HSM login refused") from None
        except p11e.PKCS11Error:
            # e.g. a failed tag check: the blob or its context is wrong.
            raise KmsError("HSM refused the operation") from None

    async def _run_raw(self, fn: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._thread, fn)
