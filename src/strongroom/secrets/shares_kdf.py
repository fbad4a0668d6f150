"""Passphrase hashes of shares: Argon2id (OWASP parameters) by default, PBKDF2-SHA256
in FIPS mode. A hash is stored as a PHC string that names its algorithm and
parameters, so raising them later changes new shares and old ones still verify.

Verification runs in a worker thread: a hash costs tens of milliseconds of CPU (and
19 MiB for Argon2id) that must not stall the event loop.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import os
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_PBKDF2 = "$pbkdf2-sha256$"
_SALT_BYTES = 16
_HASH_BYTES = 32


@dataclass(frozen=True)
class KdfParams:
    fips: bool = False
    argon2_time_cost: int = 2  # OWASP Password Storage Cheat Sheet: m=19 MiB, t=2, p=1
    argon2_memory_kib: int = 19456
    argon2_parallelism: int = 1
    pbkdf2_iterations: int = 600_000  # OWASP for PBKDF2-HMAC-SHA256


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


class PassphraseHasher:
    def __init__(self, params: KdfParams) -> None:
        self.params = params
        self._argon2 = PasswordHasher(
            time_cost=params.argon2_time_cost,
            memory_cost=params.argon2_memory_kib,
            parallelism=params.argon2_parallelism,
            hash_len=_HASH_BYTES,
            salt_len=_SALT_BYTES,
        )

    @property
    def algorithm(self) -> str:
        return "pbkdf2-sha256" if self.params.fips else "argon2id"

    def hash(self, passphrase: str) -> str:
        if self.params.fips:
            salt = os.urandom(_SALT_BYTES)
            n = self.params.pbkdf2_iterations
            digest = hashlib.pbkdf2_hmac("sha256", passphrase.encode(), salt, n, _HASH_BYTES)
            return f"{_PBKDF2}i={n}${_b64(salt)}${_b64(digest)}"
        return self._argon2.hash(passphrase)

    def verify(self, stored: str, passphrase: str) -> bool:
        """Whichever algorithm ``stored`` names (a share made before a switch to FIPS
        mode still opens with its passphrase). Malformed stored text verifies nothing."""
        if stored.startswith(_PBKDF2):
            return _pbkdf2_verify(stored, passphrase)
        try:
            return self._argon2.verify(stored, passphrase)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    async def hash_async(self, passphrase: str) -> str:
        return await asyncio.to_thread(self.hash, passphrase)

    async def verify_async(self, stored: str, passphrase: str) -> bool:
        return await asyncio.to_thread(self.verify, stored, passphrase)


def _pbkdf2_verify(stored: str, passphrase: str) -> bool:
    try:
        params, salt, digest = stored.removeprefix(_PBKDF2).split("$")
        n = int(params.removeprefix("i="))
        expected = _unb64(digest)
        got = hashlib.pbkdf2_hmac("sha256", passphrase.encode(), _unb64(salt), n, len(expected))
    except ValueError:
        return False
    return hmac.compare_digest(got, expected)
