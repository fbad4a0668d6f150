"""Key types and how their key material is generated, serialised and used.

Serialised forms (stored wrapped by the KMS; public halves in clear):

* ``x25519-hpke``: private = 32-byte X25519 scalar, public = 32-byte u-coordinate.
* ``p256-hpke``: private = 32-byte big-endian scalar, public = 65-byte uncompressed
  SEC1 point.
* ``mlkem768-x25519-hpke``: private = ML-KEM-768 64-byte seed || 32-byte X25519
  scalar; public = 1184-byte ML-KEM-768 encapsulation key || 32-byte X25519 key.
* ``aes256-gcm``: private = 32 random bytes, no public key.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from enum import IntEnum, StrEnum
from typing import Any

from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric import ec, mlkem, x25519
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

_MLKEM_SEED = 64
_MLKEM_PUB = 1184
_X25519_LEN = 32


class SuiteId(IntEnum):
    """One-byte suite identifier at the start of every payload. Never reuse a value."""

    X25519_HPKE = 1
    P256_HPKE = 2
    MLKEM768_X25519_HPKE = 3
    AES256_GCM = 4


class KeyType(StrEnum):
    """The key types a user key can have: the one list the API schema, the settings and
    key creation draw on. Values are public (API, stored rows, KMS wrap context)."""

    X25519_HPKE = "x25519-hpke"
    P256_HPKE = "p256-hpke"
    MLKEM768_X25519_HPKE = "mlkem768-x25519-hpke"
    AES256_GCM = "aes256-gcm"


KEY_TYPES: dict[str, SuiteId] = {
    KeyType.X25519_HPKE: SuiteId.X25519_HPKE,
    KeyType.P256_HPKE: SuiteId.P256_HPKE,
    KeyType.MLKEM768_X25519_HPKE: SuiteId.MLKEM768_X25519_HPKE,
    KeyType.AES256_GCM: SuiteId.AES256_GCM,
}
DEFAULT_KEY_TYPE = KeyType.X25519_HPKE

_HPKE_KEMS = {
    SuiteId.X25519_HPKE: hpke.KEM.X25519,
    SuiteId.P256_HPKE: hpke.KEM.P256,
    SuiteId.MLKEM768_X25519_HPKE: hpke.KEM.MLKEM768_X25519,
}


@dataclass(frozen=True)
class KeyMaterial:
    """A freshly generated user key version: secret part and (possibly empty) public part."""

    private: bytes
    public: bytes


def is_asymmetric(suite: SuiteId) -> bool:
    return suite in _HPKE_KEMS


def hpke_suite(suite: SuiteId) -> hpke.Suite:
    return hpke.Suite(_HPKE_KEMS[suite], hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)


def generate(suite: SuiteId) -> KeyMaterial:
    if suite is SuiteId.AES256_GCM:
        return KeyMaterial(private=os.urandom(32), public=b"")
    if suite is SuiteId.X25519_HPKE:
        xk = x25519.X25519PrivateKey.generate()
        return KeyMaterial(xk.private_bytes_raw(), xk.public_key().public_bytes_raw())
    if suite is SuiteId.P256_HPKE:
        ek = ec.generate_private_key(ec.SECP256R1())
        scalar = ek.private_numbers().private_value.to_bytes(32, "big")
        pub = ek.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
        return KeyMaterial(scalar, pub)
    mk = mlkem.MLKEM768PrivateKey.generate()
    xk = x25519.X25519PrivateKey.generate()
    private = mk.private_bytes_raw() + xk.private_bytes_raw()
    public = mk.public_key().public_bytes_raw() + xk.public_key().public_bytes_raw()
    return KeyMaterial(private, public)


def load_public(suite: SuiteId, data: bytes) -> Any:
    """Parse a serialised public key; raises ValueError on malformed input."""
    if suite is SuiteId.X25519_HPKE:
        return x25519.X25519PublicKey.from_public_bytes(data)
    if suite is SuiteId.P256_HPKE:
        return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), data)
    if suite is SuiteId.MLKEM768_X25519_HPKE:
        if len(data) != _MLKEM_PUB + _X25519_LEN:
            raise ValueError("bad hybrid public key length")
        return hpke.MLKEM768X25519PublicKey(
            mlkem.MLKEM768PublicKey.from_public_bytes(data[:_MLKEM_PUB]),
            x25519.X25519PublicKey.from_public_bytes(data[_MLKEM_PUB:]),
        )
    raise ValueError("suite has no public key")


def load_private(suite: SuiteId, data: bytes) -> Any:
    """Parse a serialised private key; raises ValueError on malformed input."""
    if suite is SuiteId.X25519_HPKE:
        return x25519.X25519PrivateKey.from_private_bytes(data)
    if suite is SuiteId.P256_HPKE:
        return ec.derive_private_key(int.from_bytes(data, "big"), ec.SECP256R1())
    if suite is SuiteId.MLKEM768_X25519_HPKE:
        if len(data) != _MLKEM_SEED + _X25519_LEN:
            raise ValueError("bad hybrid private key length")
        return hpke.MLKEM768X25519PrivateKey(
            mlkem.MLKEM768PrivateKey.from_seed_bytes(data[:_MLKEM_SEED]),
            x25519.X25519PrivateKey.from_private_bytes(data[_MLKEM_SEED:]),
        )
    raise ValueError("suite has no private key object")
