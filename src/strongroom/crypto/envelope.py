"""Hybrid, amortised, committing encryption of a batch of items.

Per request: one fresh 256-bit data key DK. For HPKE suites DK is sealed once
with HPKE base mode to the user's public key (``info`` = binding); for
aes256-gcm DK = HKDF-SHA256(ikm=user key, salt=32 random bytes, info=
lp("sr-sym-dk", binding)), so the long-term key never meets GCM directly.
From DK: ``HKDF-SHA256(ikm=DK, salt="", info=lp("sr-dk-expand", binding),
L=64)`` gives the item key (first 32 bytes) and the key commitment (last 32).
Each item is AES-256-GCM under the item key with a random 96-bit nonce and
the binding as AAD. A data key seals at most 2^20 items (collision chance
of random nonces below 2^-57) and is never reused across requests.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Sequence
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from strongroom.crypto.binding import Binding, lp
from strongroom.crypto.codec import NONCE_LEN, Payload, payload_prefix
from strongroom.crypto.errors import CiphertextError, DataKeyExhaustedError
from strongroom.crypto.suites import SuiteId, hpke_suite, is_asymmetric

MAX_ITEMS_PER_DATA_KEY = 2**20
DATA_KEY_LEN = 32


def _hkdf(ikm: bytes, salt: bytes | None, info: bytes, length: int) -> bytes:
    return HKDF(hashes.SHA256(), length=length, salt=salt, info=info).derive(ikm)


class DataKey:
    """An expanded data key bound to one (suite, tenant, user, version, context)."""

    __slots__ = ("_aead", "_count", "binding", "commitment", "header", "prefix")

    def __init__(self, dk: bytes, binding: Binding, header: bytes) -> None:
        self.binding = binding.encode()
        okm = _hkdf(dk, None, lp(b"sr-dk-expand", self.binding), 64)
        self._aead = AESGCM(okm[:32])
        self.commitment = okm[32:]
        self.header = header
        self.prefix = payload_prefix(SuiteId(binding.suite), header, self.commitment)
        self._count = 0

    def seal(self, plaintext: bytes) -> bytes:
        """Encrypt one item; returns the full payload bytes."""
        if self._count >= MAX_ITEMS_PER_DATA_KEY:
            raise DataKeyExhaustedError("data key item limit reached")
        self._count += 1
        nonce = os.urandom(NONCE_LEN)
        return self.prefix + nonce + self._aead.encrypt(nonce, plaintext, self.binding)

    def seal_batch(self, plaintexts: Sequence[bytes]) -> list[bytes]:
        """``seal`` for many items, drawing all nonces from one ``os.urandom`` call."""
        n = len(plaintexts)
        if self._count + n > MAX_ITEMS_PER_DATA_KEY:
            raise DataKeyExhaustedError("data key item limit reached")
        self._count += n
        pool = os.urandom(NONCE_LEN * n)
        prefix, enc, aad = self.prefix, self._aead.encrypt, self.binding
        nonces = [pool[i : i + NONCE_LEN] for i in range(0, NONCE_LEN * n, NONCE_LEN)]
        return [
            prefix + nonce + enc(nonce, pt, aad)
            for nonce, pt in zip(nonces, plaintexts, strict=True)
        ]

    def open(self, payload: Payload) -> bytes:
        """Check the commitment, then decrypt one item."""
        if not hmac.compare_digest(payload.commitment, self.commitment):
            raise CiphertextError("commitment")
        try:
            return self._aead.decrypt(payload.nonce, payload.ciphertext, self.binding)
        except InvalidTag:
            raise CiphertextError("tag") from None

    def open_pairs(self, pairs: Sequence[tuple[bytes, bytes]]) -> list[bytes]:
        """Decrypt (nonce, ciphertext) pairs whose commitment the caller already matched
        (``codec.split_run`` compares the whole shared prefix); a failure carries the
        pair's position."""
        dec, aad = self._aead.decrypt, self.binding
        out: list[bytes] = []
        try:
            for nonce, ciphertext in pairs:
                out.append(dec(nonce, ciphertext, aad))
        except InvalidTag:
            raise CiphertextError("tag", position=len(out)) from None
        return out


def _symmetric_dk(secret: bytes, salt: bytes, binding: Binding) -> bytes:
    return _hkdf(secret, salt, lp(b"sr-sym-dk", binding.encode()), DATA_KEY_LEN)


def new_data_key(binding: Binding, recipient: Any) -> DataKey:
    """Fresh data key for one request.

    ``recipient`` is the loaded public key object for HPKE suites, or the raw
    32-byte user key for aes256-gcm.
    """
    suite = SuiteId(binding.suite)
    if is_asymmetric(suite):
        dk = os.urandom(DATA_KEY_LEN)
        header = hpke_suite(suite).encrypt(dk, recipient, info=binding.encode())
        return DataKey(dk, binding, header)
    salt = os.urandom(32)
    return DataKey(_symmetric_dk(recipient, salt, binding), binding, salt)


def open_data_key(binding: Binding, private: Any, header: bytes) -> DataKey:
    """Recover the data key from an item's header with the user's private key.

    ``private`` is the loaded private key object for HPKE suites, or the raw
    32-byte user key for aes256-gcm. Raises CiphertextError on any failure.
    """
    suite = SuiteId(binding.suite)
    if not is_asymmetric(suite):
        return DataKey(_symmetric_dk(private, header, binding), binding, header)
    try:
        dk = hpke_suite(suite).decrypt(header, private, info=binding.encode())
    except Exception:  # the HPKE binding raises several types; all mean "cannot open"
        raise CiphertextError("hpke-open") from None
    if len(dk) != DATA_KEY_LEN:
        raise CiphertextError("hpke-open")
    return DataKey(dk, binding, header)
