"""The ciphertext known-answer vectors (docs/ciphertext.md, the same file as the
service's tests/unit/crypto/vectors/ciphertext_v1.json) through the client's own
implementation of the format (strongroom_client._format), and the client's sealing
checked from the other side for every suite."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, mlkem, x25519
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from strongroom_client import _format as fmt

VECTORS = json.loads((Path(__file__).parent / "vectors" / "ciphertext_v1.json").read_text())


def _open(entry: dict[str, Any], text: str) -> bytes:
    parsed = fmt.parse(VECTORS["prefix"], text)
    suite = fmt.SUITES[entry["key_type"]]
    if parsed.suite is not suite:
        raise ValueError("suite of the payload is not the key's")
    tenant, user, context = entry["tenant"], entry["user_id"], entry["context"]
    bound = fmt.binding(suite.id, tenant, user, parsed.version, context)
    return fmt.open_payload(parsed, bytes.fromhex(entry["private_key"]), bound)


@pytest.mark.parametrize("entry", VECTORS["valid"], ids=lambda e: e["key_type"])
def test_valid_vectors_open(entry: dict[str, Any]) -> None:
    suite = fmt.SUITES[entry["key_type"]]
    bound = fmt.binding(
        suite.id, entry["tenant"], entry["user_id"], entry["version"], entry["context"]
    )
    assert bound.hex() == entry["binding"]
    item_key, commitment = fmt.expand(bytes.fromhex(entry["data_key"]), bound)
    assert (item_key.hex(), commitment.hex()) == (entry["item_key"], entry["commitment"])
    for item in entry["items"]:
        assert _open(entry, item["ciphertext"]).hex() == item["plaintext"]


@pytest.mark.parametrize("entry", VECTORS["invalid"], ids=lambda e: e["description"])
def test_invalid_vectors_fail(entry: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        _open(entry, entry["ciphertext"])


def _keypair(key_type: str) -> tuple[bytes, bytes]:
    if key_type == "x25519-hpke":
        xk = x25519.X25519PrivateKey.generate()
        return xk.private_bytes_raw(), xk.public_key().public_bytes_raw()
    if key_type == "p256-hpke":
        ek = ec.generate_private_key(ec.SECP256R1())
        pub = ek.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
        return ek.private_numbers().private_value.to_bytes(32, "big"), pub
    mk, xk = mlkem.MLKEM768PrivateKey.generate(), x25519.X25519PrivateKey.generate()
    private = mk.private_bytes_raw() + xk.private_bytes_raw()
    return private, mk.public_key().public_bytes_raw() + xk.public_key().public_bytes_raw()


@pytest.mark.parametrize("key_type", ["x25519-hpke", "p256-hpke", "mlkem768-x25519-hpke"])
def test_sealed_items_open_and_share_exactly_the_documented_range(key_type: str) -> None:
    private, public = _keypair(key_type)
    suite = fmt.SUITES[key_type]
    items = [b"", b"a", os.urandom(100)]
    texts = fmt.seal(suite, fmt.load_public(suite, public), "sr", "t", "u", 3, "c", items)
    entry = {"key_type": key_type, "tenant": "t", "user_id": "u", "context": "c"}
    assert [_open({**entry, "private_key": private.hex()}, t) for t in texts] == items
    payloads = [fmt.unb64url(t.split(":", 2)[2]) for t in texts]
    h = suite.header_len
    # Bytes [0, 35+H) -- suite, length, header, commitment -- are the request's; the
    # nonce at 35+H is each item's own.
    assert len({p[: 35 + h] for p in payloads}) == 1
    assert len({p[35 + h : 47 + h] for p in payloads}) == 3
    assert [len(p) for p in payloads] == [63 + h + len(i) for i in items]
    with pytest.raises(ValueError):  # another context
        _open({**entry, "context": "d", "private_key": private.hex()}, texts[0])
