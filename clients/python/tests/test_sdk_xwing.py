"""The hybrid KEM of suite 3, MLKEM768-X25519 (X-Wing), rebuilt from its parts as
docs/ciphertext.md describes it -- ML-KEM-768 and X25519 shared secrets combined with
SHA3-256 and the X-Wing label, enc = ML-KEM ciphertext || X25519 ephemeral key -- and
the RFC 9180 key schedule written out, checked against draft-ietf-hpke-pq's vector.
An implementation in another language can follow the same steps."""

from __future__ import annotations

import hashlib
import hmac
import json
import struct
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import mlkem, x25519
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

PQ = json.loads((Path(__file__).parent / "vectors" / "hpke_mlkem768_x25519.json").read_text())
XWING_LABEL = bytes.fromhex("5c2e2f2f5e5c")  # the six ASCII characters \.//^\


def xwing_decapsulate(seed: bytes, enc: bytes) -> bytes:
    expanded = hashlib.shake_256(seed).digest(96)
    sk_m = mlkem.MLKEM768PrivateKey.from_seed_bytes(expanded[:64])
    sk_x = x25519.X25519PrivateKey.from_private_bytes(expanded[64:])
    ct_m, ct_x = enc[:1088], enc[1088:]
    assert len(ct_x) == 32
    ss_m = sk_m.decapsulate(ct_m)
    ss_x = sk_x.exchange(x25519.X25519PublicKey.from_public_bytes(ct_x))
    pk_x = sk_x.public_key().public_bytes_raw()
    return hashlib.sha3_256(ss_m + ss_x + ct_x + pk_x + XWING_LABEL).digest()


def _extract(salt: bytes, ikm: bytes) -> bytes:
    return hmac.new(salt or bytes(32), ikm, hashlib.sha256).digest()


def _expand(prk: bytes, info: bytes, length: int) -> bytes:
    out, block, i = b"", b"", 1
    while len(out) < length:
        block = hmac.new(prk, block + info + bytes([i]), hashlib.sha256).digest()
        out, i = out + block, i + 1
    return out[:length]


def key_schedule(shared: bytes, info: bytes, kem: int, kdf: int, aead: int) -> tuple[bytes, bytes]:
    """RFC 9180 section 5.1, base mode: (key, base_nonce) for a 32-byte-key AEAD."""
    suite = b"HPKE" + struct.pack(">HHH", kem, kdf, aead)

    def labeled_extract(salt: bytes, label: bytes, ikm: bytes) -> bytes:
        return _extract(salt, b"HPKE-v1" + suite + label + ikm)

    def labeled_expand(prk: bytes, label: bytes, ctx: bytes, n: int) -> bytes:
        return _expand(prk, struct.pack(">H", n) + b"HPKE-v1" + suite + label + ctx, n)

    context = (
        b"\x00"
        + labeled_extract(b"", b"psk_id_hash", b"")
        + labeled_extract(b"", b"info_hash", info)
    )
    secret = labeled_extract(shared, b"secret", b"")
    return labeled_expand(secret, b"key", context, 32), labeled_expand(
        secret, b"base_nonce", context, 12
    )


def test_xwing_rebuilt_from_the_doc_opens_the_draft_vector() -> None:
    enc = bytes.fromhex(PQ["enc"])
    shared = xwing_decapsulate(bytes.fromhex(PQ["skRm"]), enc)
    key, nonce = key_schedule(
        shared, bytes.fromhex(PQ["info"]), PQ["kem_id"], PQ["kdf_id"], PQ["aead_id"]
    )
    seq0 = PQ["seq0"]
    pt = ChaCha20Poly1305(key).decrypt(nonce, bytes.fromhex(seq0["ct"]), bytes.fromhex(seq0["aad"]))
    assert pt.hex() == seq0["pt"]
