"""Sealed records: server-side values (vault secrets, shares, CA keys, stored API keys)
encrypted under a tenant's data key.

Wire invariant (``docs/ciphertext.md``, "Sealed records"; never change an existing
format byte's layout):

    0x01 | key version (4 bytes, big-endian) | salt (16) | nonce (12) | ciphertext + tag (16)

The record key is ``HKDF-SHA256(ikm=data key, salt=salt, info=lp("sr-seal-key", aad))``,
so every record has its own key: a tenant key can seal any number of records without
GCM's random-nonce limit (2^32 per key) coming near. ``aad`` is the caller's
unambiguous binding (datakeys/sealer.py: format tag, purpose, tenant, key version and
the record's own identifiers, length-prefixed) and goes into the HKDF ``info``; the GCM
AAD is the 33-byte header followed by ``aad`` (fixed length, so unambiguous), so a
record moved to another tenant, purpose, key version or identifier fails, and so
does a changed header byte.
No key commitment is needed here, unlike user ciphertexts: the server alone holds the
data keys and picks the key from the record's version, so no other key can be offered.
"""

from __future__ import annotations

import os
import struct

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from strongroom.crypto.binding import lp
from strongroom.crypto.errors import CiphertextError

FORMAT = 0x01
SALT_LEN, NONCE_LEN, TAG_LEN = 16, 12, 16
HEADER_LEN = 1 + 4 + SALT_LEN + NONCE_LEN
KEY_LEN = 32


def _record_key(data_key: bytes, salt: bytes, aad: bytes) -> AESGCM:
    hkdf = HKDF(hashes.SHA256(), length=KEY_LEN, salt=salt, info=lp(b"sr-seal-key", aad))
    return AESGCM(hkdf.derive(data_key))


def key_version(blob: bytes) -> int:
    """The data-key version a sealed record names (CiphertextError if it is no record)."""
    if len(blob) < HEADER_LEN + TAG_LEN or blob[0] != FORMAT:
        raise CiphertextError("not a sealed record")
    return int(struct.unpack(">I", blob[1:5])[0])


def seal(
    data_key: bytes,
    version: int,
    aad: bytes,
    plaintext: bytes,
    *,
    salt: bytes | None = None,
    nonce: bytes | None = None,
) -> bytes:
    """Seal ``plaintext``; ``salt`` and ``nonce`` only for known-answer tests."""
    if len(data_key) != KEY_LEN:
        raise ValueError("data key must be 32 bytes")
    salt = os.urandom(SALT_LEN) if salt is None else salt
    nonce = os.urandom(NONCE_LEN) if nonce is None else nonce
    if len(salt) != SALT_LEN or len(nonce) != NONCE_LEN:
        raise ValueError("bad salt or nonce length")
    header = bytes([FORMAT]) + struct.pack(">I", version) + salt + nonce
    return header + _record_key(data_key, salt, aad).encrypt(nonce, plaintext, header + aad)


def open_sealed(data_key: bytes, aad: bytes, blob: bytes) -> bytes:
    """Open a record sealed with ``data_key`` under ``aad``; one opaque error for any
    mismatch (wrong key, binding, tampered or truncated record)."""
    key_version(blob)  # checks the shape
    salt = blob[5 : 5 + SALT_LEN]
    nonce = blob[5 + SALT_LEN : HEADER_LEN]
    try:
        gcm = _record_key(data_key, salt, aad)
        return gcm.decrypt(nonce, blob[HEADER_LEN:], blob[:HEADER_LEN] + aad)
    except InvalidTag:
        raise CiphertextError("sealed record does not open") from None
