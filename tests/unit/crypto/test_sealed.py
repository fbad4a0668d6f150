"""Sealed records (crypto/sealed.py): the wire layout rebuilt from its description,
a known-answer vector that pins it, and one opaque error for every kind of damage."""

from __future__ import annotations

import struct

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from hypothesis import given
from hypothesis import strategies as st

from strongroom.crypto.binding import lp
from strongroom.crypto.errors import CiphertextError
from strongroom.crypto.sealed import HEADER_LEN, key_version, open_sealed, seal

KEY = bytes(range(32))
SALT = bytes(range(100, 116))
NONCE = bytes(range(200, 212))
AAD = lp(b"sr-sealed-1", b"secret", b"acme", struct.pack(">I", 7), b"apps/billing", b"3")
# Pins the layout: a change to the format breaks every stored record.
KAT = (
    "01000000076465666768696a6b6c6d6e6f70717273c8c9cacbcccdcecfd0d1d2d3"
    "ff88e4c0a46f9e790bd91af7bc084b3e65714dc2ab0424"
)


def by_hand(key: bytes, version: int, salt: bytes, nonce: bytes, aad: bytes, pt: bytes) -> bytes:
    """The layout as docs/ciphertext.md describes it, built without crypto/sealed.py."""
    hkdf = HKDF(hashes.SHA256(), length=32, salt=salt, info=lp(b"sr-seal-key", aad))
    header = b"\x01" + struct.pack(">I", version) + salt + nonce
    return header + AESGCM(hkdf.derive(key)).encrypt(nonce, pt, header + aad)


def test_layout_matches_the_description() -> None:
    blob = seal(KEY, 7, AAD, b"hunter2", salt=SALT, nonce=NONCE)
    assert blob == by_hand(KEY, 7, SALT, NONCE, AAD, b"hunter2")
    assert key_version(blob) == 7
    assert len(blob) == HEADER_LEN + len(b"hunter2") + 16


def test_known_answer_vector() -> None:
    blob = seal(KEY, 7, AAD, b"hunter2", salt=SALT, nonce=NONCE)
    assert blob.hex() == KAT
    assert open_sealed(KEY, AAD, bytes.fromhex(KAT)) == b"hunter2"


def test_fresh_salt_and_nonce_every_time() -> None:
    a, b = seal(KEY, 1, AAD, b"x"), seal(KEY, 1, AAD, b"x")
    assert a != b and open_sealed(KEY, AAD, a) == open_sealed(KEY, AAD, b) == b"x"


@given(position=st.integers(min_value=0), flip=st.integers(min_value=1, max_value=255))
def test_any_changed_byte_is_refused(position: int, flip: int) -> None:
    blob = bytearray(seal(KEY, 7, AAD, b"a value", salt=SALT, nonce=NONCE))
    blob[position % len(blob)] ^= flip
    with pytest.raises(CiphertextError):
        open_sealed(KEY, AAD, bytes(blob))


@pytest.mark.parametrize(
    "damage",
    [
        lambda b: b[:-1],  # truncated tag
        lambda b: b[:HEADER_LEN],  # no body at all
        lambda b: b"",
        lambda b: b"\x02" + b[1:],  # unknown format
    ],
)
def test_malformed_records_are_refused(damage: object) -> None:
    blob = seal(KEY, 7, AAD, b"a value")
    with pytest.raises(CiphertextError):
        open_sealed(KEY, AAD, damage(blob))  # type: ignore[operator]


def test_other_binding_or_key_is_refused() -> None:
    blob = seal(KEY, 7, AAD, b"a value")
    with pytest.raises(CiphertextError):
        open_sealed(KEY, AAD + b"x", blob)
    with pytest.raises(CiphertextError):
        open_sealed(bytes(32), AAD, blob)


def test_bad_parameters() -> None:
    with pytest.raises(ValueError):
        seal(b"short", 1, AAD, b"x")
    with pytest.raises(ValueError):
        seal(KEY, 1, AAD, b"x", salt=b"s")
