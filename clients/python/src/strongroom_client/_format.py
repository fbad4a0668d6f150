"""The ciphertext format v1, written from docs/ciphertext.md (not from the server's
code): binding, data-key expansion, payload layout, text form.

Only sealing is needed offline; ``open_payload`` exists so that the known-answer
vectors can check this implementation from both sides.
"""

from __future__ import annotations

import base64
import hmac
import os
import struct
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes, hpke
from cryptography.hazmat.primitives.asymmetric import ec, mlkem, x25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

FORMAT_TAG = b"sr-ct-1"
NONCE_LEN, TAG_LEN, COMMITMENT_LEN, DATA_KEY_LEN = 12, 16, 32, 32
MAX_ITEMS_PER_DATA_KEY = 2**20
MAX_VERSION = 2**32 - 1


@dataclass(frozen=True)
class Suite:
    id: int
    key_type: str
    header_len: int  # H
    public_len: int
    kem: hpke.KEM | None


SUITES = {
    s.key_type: s
    for s in (
        Suite(1, "x25519-hpke", 32 + 48, 32, hpke.KEM.X25519),
        Suite(2, "p256-hpke", 65 + 48, 65, hpke.KEM.P256),
        Suite(3, "mlkem768-x25519-hpke", 1120 + 48, 1216, hpke.KEM.MLKEM768_X25519),
        Suite(4, "aes256-gcm", 32, 0, None),
    )
}
SUITES_BY_ID = {s.id: s for s in SUITES.values()}


def lp(*fields: bytes) -> bytes:
    """Each field as a 4-byte big-endian length, then its bytes."""
    return b"".join(struct.pack(">I", len(f)) + f for f in fields)


def binding(suite: int, tenant: str, user_id: str, version: int, context: str = "") -> bytes:
    return lp(
        FORMAT_TAG,
        bytes([suite]),
        tenant.encode(),
        user_id.encode(),
        struct.pack(">I", version),
        context.encode(),
    )


def expand(data_key: bytes, bound: bytes) -> tuple[bytes, bytes]:
    """(item key, commitment) = HKDF-SHA256(DK, salt empty, lp("sr-dk-expand", binding), 64)."""
    okm = HKDF(hashes.SHA256(), 64, None, lp(b"sr-dk-expand", bound)).derive(data_key)
    return okm[:32], okm[32:]


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    """Strict: URL-safe alphabet, no padding, canonical trailing bits."""
    if not isinstance(text, str):
        raise TypeError("not text")
    if len(text) % 4 == 1 or any(c in "=+/ \n" for c in text):
        raise ValueError("not canonical base64url")
    raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if b64url(raw) != text:
        raise ValueError("not canonical base64url")
    return raw


def load_public(suite: Suite, data: bytes) -> object:
    if len(data) != suite.public_len:
        raise ValueError("public key length does not match the suite")
    if suite.id == 1:
        return x25519.X25519PublicKey.from_public_bytes(data)
    if suite.id == 2:
        return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), data)
    if suite.id == 3:
        return hpke.MLKEM768X25519PublicKey(
            mlkem.MLKEM768PublicKey.from_public_bytes(data[:1184]),
            x25519.X25519PublicKey.from_public_bytes(data[1184:]),
        )
    raise ValueError("suite has no public key")


def load_private(suite: Suite, data: bytes) -> object:
    if suite.id == 1:
        return x25519.X25519PrivateKey.from_private_bytes(data)
    if suite.id == 2:
        return ec.derive_private_key(int.from_bytes(data, "big"), ec.SECP256R1())
    if suite.id == 3:
        return hpke.MLKEM768X25519PrivateKey(
            mlkem.MLKEM768PrivateKey.from_seed_bytes(data[:64]),
            x25519.X25519PrivateKey.from_private_bytes(data[64:]),
        )
    raise ValueError("suite has no private key object")


def hpke_suite(suite: Suite) -> hpke.Suite:
    assert suite.kem is not None
    return hpke.Suite(suite.kem, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)


def seal(
    suite: Suite,
    public_key: object,
    prefix: str,
    tenant: str,
    user_id: str,
    version: int,
    context: str,
    items: Sequence[bytes],
) -> list[str]:
    """Seal ``items`` to ``public_key``: one fresh data key per 2^20 items."""
    bound = binding(suite.id, tenant, user_id, version, context)
    head = f"{prefix}:v{version}:"
    out: list[str] = []
    for start in range(0, len(items), MAX_ITEMS_PER_DATA_KEY):
        dk = os.urandom(DATA_KEY_LEN)
        header = hpke_suite(suite).encrypt(dk, public_key, info=bound)  # type: ignore[arg-type]
        if len(header) != suite.header_len:
            raise ValueError("HPKE output does not match the suite's header length")
        item_key, commitment = expand(dk, bound)
        shared = bytes([suite.id]) + struct.pack(">H", len(header)) + header + commitment
        aead = AESGCM(item_key)
        for item in items[start : start + MAX_ITEMS_PER_DATA_KEY]:
            nonce = os.urandom(NONCE_LEN)
            out.append(head + b64url(shared + nonce + aead.encrypt(nonce, item, bound)))
    return out


@dataclass(frozen=True)
class Parsed:
    version: int
    suite: Suite
    header: bytes
    commitment: bytes
    nonce: bytes
    ciphertext: bytes


def parse(prefix: str, text: str) -> Parsed:
    head, sep, rest = text.partition(":")
    field, sep2, body = rest.partition(":")
    digits = field[1:]
    if head != prefix or not (sep and sep2) or not field.startswith("v"):
        raise ValueError("bad text form")
    if not (digits.isascii() and digits.isdigit()) or digits[0] == "0" or len(digits) > 10:
        raise ValueError("bad version")
    version = int(digits)
    if version > MAX_VERSION:
        raise ValueError("bad version")
    raw = unb64url(body)
    suite = SUITES_BY_ID.get(raw[0]) if raw else None
    if suite is None or len(raw) < 3:
        raise ValueError("unknown suite")
    (h,) = struct.unpack_from(">H", raw, 1)
    end = 3 + h
    if h != suite.header_len or len(raw) < end + COMMITMENT_LEN + NONCE_LEN + TAG_LEN:
        raise ValueError("bad length")
    c_end = end + COMMITMENT_LEN
    return Parsed(
        version,
        suite,
        raw[3:end],
        raw[end:c_end],
        raw[c_end : c_end + NONCE_LEN],
        raw[c_end + NONCE_LEN :],
    )


def open_payload(parsed: Parsed, private_key: bytes, bound: bytes) -> bytes:
    """Open one item (vectors and tests only). Raises ValueError on any failure."""
    suite = parsed.suite
    try:
        if suite.kem is None:
            info = lp(b"sr-sym-dk", bound)
            dk = HKDF(hashes.SHA256(), 32, parsed.header, info).derive(private_key)
        else:
            key = load_private(suite, private_key)
            dk = hpke_suite(suite).decrypt(parsed.header, key, info=bound)  # type: ignore[arg-type]
        if len(dk) != DATA_KEY_LEN:
            raise ValueError("data key length")
        item_key, commitment = expand(dk, bound)
        if not hmac.compare_digest(commitment, parsed.commitment):
            raise ValueError("commitment")
        return AESGCM(item_key).decrypt(parsed.nonce, parsed.ciphertext, bound)
    except ValueError:
        raise
    except Exception as exc:  # the HPKE and AEAD bindings raise several types
        raise ValueError("does not open") from exc
