"""Decrypt-side known-answer tests: ``vectors/ciphertext_v1.json`` (see make_vectors.py).

Each vector is checked twice:

* through the public functions the service uses
  (``codec.parse_text`` -> ``envelope.open_data_key`` -> ``DataKey.open``), and
* through ``spec_open`` below, a from-scratch reading of docs/ciphertext.md that
  shares no code with ``strongroom.crypto`` (only the primitives from
  ``cryptography``), so the document, the vectors and the code must all agree.

The binding bytes are rebuilt by hand with ``struct`` and compared to the hex in
the file, independently of ``Binding.encode``.
"""

from __future__ import annotations

import base64
import hmac
import json
import struct
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, hpke
from cryptography.hazmat.primitives.asymmetric import ec, mlkem, x25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from strongroom.crypto import codec, envelope, suites
from strongroom.crypto.binding import Binding
from strongroom.crypto.errors import CiphertextError

VECTORS = json.loads(
    (Path(__file__).parent / "vectors" / "ciphertext_v1.json").read_text(encoding="utf-8")
)
PREFIX = VECTORS["prefix"]
VALID: list[dict[str, Any]] = VECTORS["valid"]
INVALID: list[dict[str, Any]] = VECTORS["invalid"]
ITEMS = [(v, i) for v in VALID for i in range(len(v["items"]))]


def _ids(v: dict[str, Any]) -> str:
    return str(v["name"])


# --- an independent implementation of docs/ciphertext.md --------------------------------


def lp_by_hand(*fields: bytes) -> bytes:
    return b"".join(struct.pack(">I", len(f)) + f for f in fields)


def binding_by_hand(suite: int, tenant: str, user_id: str, version: int, context: str) -> bytes:
    return lp_by_hand(
        b"sr-ct-1",
        struct.pack(">B", suite),
        tenant.encode("utf-8"),
        user_id.encode("utf-8"),
        struct.pack(">I", version),
        context.encode("utf-8"),
    )


SPEC_HEADER_LEN = {1: 32 + 48, 2: 65 + 48, 3: 1120 + 48, 4: 32}
SPEC_KEM = {1: hpke.KEM.X25519, 2: hpke.KEM.P256, 3: hpke.KEM.MLKEM768_X25519}


def spec_private_key(suite: int, raw: bytes) -> Any:
    if suite == 1:
        return x25519.X25519PrivateKey.from_private_bytes(raw)
    if suite == 2:
        return ec.derive_private_key(int.from_bytes(raw, "big"), ec.SECP256R1())
    if suite == 3:
        return hpke.MLKEM768X25519PrivateKey(
            mlkem.MLKEM768PrivateKey.from_seed_bytes(raw[:64]),
            x25519.X25519PrivateKey.from_private_bytes(raw[64:]),
        )
    return raw


def spec_public_key_bytes(suite: int, raw_private: bytes) -> bytes:
    if suite == 1:
        return (
            x25519.X25519PrivateKey.from_private_bytes(raw_private).public_key().public_bytes_raw()
        )
    if suite == 2:
        sk = ec.derive_private_key(int.from_bytes(raw_private, "big"), ec.SECP256R1())
        return sk.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    if suite == 3:
        mk = mlkem.MLKEM768PrivateKey.from_seed_bytes(raw_private[:64])
        xk = x25519.X25519PrivateKey.from_private_bytes(raw_private[64:])
        return mk.public_key().public_bytes_raw() + xk.public_key().public_bytes_raw()
    return b""


def spec_open(
    text: str, private: bytes, tenant: str, user_id: str, context: str
) -> tuple[bytes, dict[str, bytes]]:
    """Open one item following docs/ciphertext.md. Raises (anything) on failure."""
    prefix, version_field, body = text.split(":")
    if prefix != PREFIX or not version_field.startswith("v"):
        raise ValueError("text form")
    digits = version_field[1:]
    if not (digits.isascii() and digits.isdigit()) or digits.startswith("0"):
        raise ValueError("version")
    version = int(digits)
    if not 1 <= version <= 2**32 - 1:
        raise ValueError("version range")
    if "=" in body or "+" in body or "/" in body:
        raise ValueError("base64url without padding")
    raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))

    suite, hlen = raw[0], struct.unpack(">H", raw[1:3])[0]
    if hlen != SPEC_HEADER_LEN[suite] or len(raw) < 3 + hlen + 32 + 12 + 16:
        raise ValueError("layout")
    header = raw[3 : 3 + hlen]
    commitment = raw[3 + hlen : 35 + hlen]
    nonce = raw[35 + hlen : 47 + hlen]
    sealed = raw[47 + hlen :]

    binding = binding_by_hand(suite, tenant, user_id, version, context)
    key = spec_private_key(suite, private)
    if suite == 4:
        info = lp_by_hand(b"sr-sym-dk", binding)
        data_key = HKDF(hashes.SHA256(), length=32, salt=header, info=info).derive(key)
    else:
        hpke_suite = hpke.Suite(SPEC_KEM[suite], hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)
        data_key = hpke_suite.decrypt(header, key, info=binding)
        if len(data_key) != 32:
            raise ValueError("data key length")
    info = lp_by_hand(b"sr-dk-expand", binding)
    okm = HKDF(hashes.SHA256(), length=64, salt=b"", info=info).derive(data_key)
    if not hmac.compare_digest(okm[32:], commitment):  # before any decryption
        raise ValueError("commitment")
    plaintext = AESGCM(okm[:32]).decrypt(nonce, sealed, binding)
    steps = {"binding": binding, "data_key": data_key, "item_key": okm[:32], "commitment": okm[32:]}
    return plaintext, steps


# --- the public functions --------------------------------------------------------------------


def service_open(v: dict[str, Any], text: str) -> bytes:
    suite = suites.KEY_TYPES[v["key_type"]]
    raw = bytes.fromhex(v["private_key"])
    key = suites.load_private(suite, raw) if suites.is_asymmetric(suite) else raw
    version, payload = codec.parse_text(PREFIX, text)
    if payload.suite != suite:  # the service refuses an item whose suite is not the key's
        raise CiphertextError("suite-mismatch")
    binding = Binding(suite, v["tenant"], v["user_id"], version, v["context"])
    return envelope.open_data_key(binding, key, payload.header).open(payload)


# --- the file itself ---------------------------------------------------------------------------


def test_file_covers_every_suite_and_has_negatives() -> None:
    assert VECTORS["format_tag"] == "sr-ct-1"
    assert {v["key_type"] for v in VALID} == set(suites.KEY_TYPES)
    assert {i["key_type"] for i in INVALID} >= {"x25519-hpke", "p256-hpke", "aes256-gcm"}
    kinds = {i["name"].split("/")[1] for i in INVALID}
    assert {"wrong-context", "wrong-user", "tampered-ciphertext"} <= kinds
    names = [v["name"] for v in VALID + INVALID]
    assert len(names) == len(set(names))
    mlkem_vectors = [v for v in VALID if v["key_type"] == "mlkem768-x25519-hpke"]
    assert [len(v["items"]) for v in mlkem_vectors] == [1]


@pytest.mark.parametrize("v", VALID + INVALID, ids=_ids)
def test_key_material_and_binding_encoding(v: dict[str, Any]) -> None:
    suite = suites.KEY_TYPES[v["key_type"]]
    assert v["suite"] == int(suite)
    raw = bytes.fromhex(v["private_key"])
    assert len(raw) == {1: 32, 2: 32, 3: 96, 4: 32}[v["suite"]]
    assert bytes.fromhex(v["public_key"]) == spec_public_key_bytes(v["suite"], raw)
    if suites.is_asymmetric(suite):
        suites.load_public(suite, bytes.fromhex(v["public_key"]))  # parses
    by_hand = binding_by_hand(v["suite"], v["tenant"], v["user_id"], v["version"], v["context"])
    assert by_hand.hex() == v["binding"]
    binding = Binding(suite, v["tenant"], v["user_id"], v["version"], v["context"])
    assert binding.encode().hex() == v["binding"]


# --- valid vectors -------------------------------------------------------------------------------


@pytest.mark.parametrize(("v", "i"), ITEMS, ids=[f"{v['name']}#{i}" for v, i in ITEMS])
def test_valid_item_opens_through_public_functions(v: dict[str, Any], i: int) -> None:
    item = v["items"][i]
    version, payload = codec.parse_text(PREFIX, item["ciphertext"])
    assert version == v["version"]
    assert int(payload.suite) == v["suite"]
    assert payload.commitment.hex() == v["commitment"]
    assert service_open(v, item["ciphertext"]).hex() == item["plaintext"]


@pytest.mark.parametrize(("v", "i"), ITEMS, ids=[f"{v['name']}#{i}" for v, i in ITEMS])
def test_valid_item_opens_per_the_spec(v: dict[str, Any], i: int) -> None:
    item = v["items"][i]
    raw_key = bytes.fromhex(v["private_key"])
    pt, steps = spec_open(item["ciphertext"], raw_key, v["tenant"], v["user_id"], v["context"])
    assert pt.hex() == item["plaintext"]
    for name in ("binding", "data_key", "item_key", "commitment"):
        assert steps[name].hex() == v[name], name


@pytest.mark.parametrize("v", VALID, ids=_ids)
def test_items_of_a_vector_share_one_data_key(v: dict[str, Any]) -> None:
    prefixes = set()
    for item in v["items"]:
        _version, p = codec.parse_text(PREFIX, item["ciphertext"])
        prefixes.add(codec.payload_prefix(p.suite, p.header, p.commitment))
    assert len(prefixes) == 1


@pytest.mark.parametrize("v", VALID, ids=_ids)
def test_derived_negatives(v: dict[str, Any]) -> None:
    """Any change of binding input, version or payload byte makes a valid item fail."""
    text = v["items"][0]["ciphertext"]
    _prefix, version_field, body = text.split(":")
    raw = codec.unb64url(body)
    changed: list[tuple[dict[str, Any], str]] = [
        ({**v, "context": v["context"] + "x"}, text),
        ({**v, "user_id": v["user_id"] + "x"}, text),
        ({**v, "tenant": v["tenant"] + "x"}, text),
        ({**v, "version": v["version"] - 1}, f"sr:v{v['version'] - 1}:{body}"),
    ]
    for pos in range(0, len(raw), max(1, len(raw) // 40)):
        flipped = bytearray(raw)
        flipped[pos] ^= 0x80
        changed.append((v, f"sr:{version_field}:{codec.b64url(bytes(flipped))}"))
    changed.append((v, f"sr:{version_field}:{codec.b64url(raw[:-1])}"))
    for vector, candidate in changed:
        if vector["version"] < 1:
            continue
        with pytest.raises(CiphertextError):
            service_open(vector, candidate)
        with pytest.raises(Exception):  # any failure is a failure to open
            spec_open(
                candidate,
                bytes.fromhex(vector["private_key"]),
                vector["tenant"],
                vector["user_id"],
                vector["context"],
            )


# --- invalid vectors ---------------------------------------------------------------------


@pytest.mark.parametrize("v", INVALID, ids=_ids)
def test_invalid_vector_fails_through_public_functions(v: dict[str, Any]) -> None:
    with pytest.raises(CiphertextError):
        service_open(v, v["ciphertext"])


@pytest.mark.parametrize("v", INVALID, ids=_ids)
def test_invalid_vector_fails_per_the_spec(v: dict[str, Any]) -> None:
    with pytest.raises(Exception):  # any failure is a failure to open
        spec_open(
            v["ciphertext"],
            bytes.fromhex(v["private_key"]),
            v["tenant"],
            v["user_id"],
            v["context"],
        )
