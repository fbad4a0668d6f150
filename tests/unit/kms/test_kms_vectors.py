"""Known-answer vectors for docs/kms.md: the context encoding and the local blob."""

from __future__ import annotations

import hashlib

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from strongroom.kms.interfaces import Wrapped, encode_context, service_key_context
from strongroom.kms.local import LocalKms

MASTER = bytes(range(32))
# Written out by hand from docs/kms.md: lp("sr-kms-ctx-1", "a", "1", "b", "xy"), keys sorted.
CONTEXT_HEX = (
    "0000000c" + b"sr-kms-ctx-1".hex()
    + "00000001" + b"a".hex() + "00000001" + b"1".hex()
    + "00000001" + b"b".hex() + "00000002" + b"xy".hex()
)  # fmt: skip


def test_context_encoding_vector() -> None:
    assert encode_context({"b": "xy", "a": "1"}).hex() == CONTEXT_HEX
    assert service_key_context("access-key-pepper") == {"purpose": "access-key-pepper"}


async def test_local_blob_layout_and_key_id() -> None:
    kms = LocalKms(MASTER)
    # key id = SHA-256("sr-kms-local-id" || master)[:8], computed independently here
    key_id = hashlib.sha256(b"sr-kms-local-id" + MASTER).digest()[:8]
    assert kms.key_id == key_id and kms.key_ref == f"local:{key_id.hex()}"
    nonce = bytes(range(12))
    ctx = {"b": "xy", "a": "1"}
    sealed = AESGCM(MASTER).encrypt(nonce, b"secret", bytes.fromhex(CONTEXT_HEX))
    blob = b"\x01" + key_id + nonce + sealed
    assert await kms.unwrap(Wrapped(kms.key_ref, blob), ctx) == b"secret"
    made = await kms.wrap(b"secret", ctx)
    assert made.blob[0] == 1 and made.blob[1:9] == key_id and len(made.blob) == 1 + 8 + 12 + 6 + 16
