"""Local backend: a 256-bit master key in a file (mode 0600), AES-256-GCM wrapping.

Wrapped blob invariant: ``0x01 || key id (8 bytes) || nonce (12) || AES-256-GCM(ct || tag)``
with the canonical context encoding as AAD. The key id is the first 8 bytes of
SHA-256("sr-kms-local-id" || master key), so a blob names the master key that made it
without revealing it.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Mapping
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from strongroom.kms.interfaces import KmsError, Wrapped, encode_context

_FORMAT = 0x01
MASTER_KEY_LEN = 32
SETTING = "STRONGROOM_MASTER_KEY_FILE"


class MasterKeyFileError(Exception):
    """The master key file is missing, malformed or has unsafe permissions."""


def create_master_key_file(path: Path) -> bool:
    """Create a fresh master key file with mode 0600; False if it already exists."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(fd, "wb") as f:
        f.write(os.urandom(MASTER_KEY_LEN))
        f.flush()
        os.fsync(f.fileno())
    return True


def read_master_key_file(path: Path) -> bytes:
    # Each message names the setting: the path alone does not say where it came from.
    try:
        st = path.stat()
    except FileNotFoundError:
        raise MasterKeyFileError(f"master key file not found: {path} ({SETTING})") from None
    except OSError as exc:
        raise MasterKeyFileError(f"master key file {path} ({SETTING}): {exc.strerror}") from None
    if not stat.S_ISREG(st.st_mode):
        raise MasterKeyFileError(f"master key file {path} ({SETTING}) is not a regular file")
    if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise MasterKeyFileError(
            f"master key file {path} ({SETTING}) is accessible by group or others; run chmod 600"
        )
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise MasterKeyFileError(f"master key file {path} ({SETTING}): {exc.strerror}") from None
    if len(data) != MASTER_KEY_LEN:
        raise MasterKeyFileError(
            f"master key file {path} ({SETTING}) is not {MASTER_KEY_LEN} bytes"
        )
    return data


class LocalKms:
    name = "local"

    def __init__(self, master_key: bytes) -> None:
        if len(master_key) != MASTER_KEY_LEN:
            raise ValueError("master key must be 32 bytes")
        self._aead = AESGCM(master_key)
        self.key_id = hashlib.sha256(b"sr-kms-local-id" + master_key).digest()[:8]
        self._key_ref = f"local:{self.key_id.hex()}"

    @property
    def key_ref(self) -> str:
        return self._key_ref

    @classmethod
    def from_file(cls, path: Path) -> LocalKms:
        return cls(read_master_key_file(path))

    async def wrap(self, plaintext: bytes, context: Mapping[str, str]) -> Wrapped:
        nonce = os.urandom(12)
        ct = self._aead.encrypt(nonce, plaintext, encode_context(context))
        return Wrapped(self.key_ref, bytes([_FORMAT]) + self.key_id + nonce + ct)

    async def unwrap(self, wrapped: Wrapped, context: Mapping[str, str]) -> bytes:
        blob = wrapped.blob
        if len(blob) < 1 + 8 + 12 + 16 or blob[0] != _FORMAT:
            raise KmsError("malformed wrapped key")
        if blob[1:9] != self.key_id:
            raise KmsError("wrapped under a different master key")
        try:
            return self._aead.decrypt(blob[9:21], blob[21:], encode_context(context))
        except InvalidTag:
            raise KmsError("unwrap failed") from None

    async def rewrap(self, wrapped: Wrapped, context: Mapping[str, str]) -> Wrapped:
        # One master key, one version: a fresh nonce is all a rewrap can change.
        return await self.wrap(await self.unwrap(wrapped, context), context)

    async def health(self) -> bool:
        return True

    async def close(self) -> None:
        return None
