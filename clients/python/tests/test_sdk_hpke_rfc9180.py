"""Known-answer tests of the HPKE the client relies on
(``cryptography.hazmat.primitives.hpke``): a copy of the service's
tests/unit/crypto/test_hpke_rfc9180.py, so the client checks its own install.

Vectors: RFC 9180 Appendix A, base mode (mode 0), first encryption (sequence
number 0). A.1.1 and A.3.1 are copied from the RFC text; the two AES-256-GCM
entries (the AEAD Strongroom uses) come from the CFRG ``test-vectors.json``
(github.com/cfrg/draft-irtf-cfrg-hpke) that the RFC references and abridges.
All share info = "Ode on a Grecian Urn", aad = "Count-0" and
pt = "Beauty is truth, truth beauty".

For sequence 0 the HPKE context nonce is the base nonce, so the RFC's ``ct`` is
exactly what the single-shot API produces -- except that the RFC vector uses a
non-empty ``aad`` and the public single-shot ``Suite.decrypt`` has no ``aad``
argument (Strongroom never uses HPKE aad; its binding goes into ``info``). The
Rust binding exposes ``_decrypt_with_aad`` for exactly this, so the KAT calls it;
the public API is exercised with empty aad in test_hpke_crosscheck.py.

Suite 3's KEM, MLKEM768-X25519 (X-Wing, HPKE KEM id 0x647a), has no RFC 9180
vector and pyhpke does not implement it, so it is checked against the HPKE
working group's draft-ietf-hpke-pq-04 A.5.1 vector (ChaCha20-Poly1305 AEAD; the KEM
and key schedule are the ones Strongroom uses), stored in
``vectors/hpke_mlkem768_x25519.json``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.bindings._rust import openssl as rust_openssl
from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric import ec, mlkem, x25519
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

_decrypt_with_aad = rust_openssl.hpke._decrypt_with_aad

INFO = bytes.fromhex("4f6465206f6e2061204772656369616e2055726e")
AAD_SEQ0 = bytes.fromhex("436f756e742d30")
PT = bytes.fromhex("4265617574792069732074727574682c20747275746820626561757479")


@dataclass(frozen=True)
class Vector:
    name: str
    kem: hpke.KEM
    aead: hpke.AEAD
    sk_rm: str
    pk_rm: str
    enc: str
    ct: str


VECTORS = [
    Vector(
        name="RFC9180-A.1.1-X25519-HKDF-SHA256-AES-128-GCM",
        kem=hpke.KEM.X25519,
        aead=hpke.AEAD.AES_128_GCM,
        sk_rm="4612c550263fc8ad58375df3f557aac531d26850903e55a9f23f21d8534e8ac8",
        pk_rm="3948cfe0ad1ddb695d780e59077195da6c56506b027329794ab02bca80815c4d",
        enc="37fda3567bdbd628e88668c3c8d7e97d1d1253b6d4ea6d44c150f741f1bf4431",
        ct="f938558b5d72f1a23810b4be2ab4f84331acc02fc97babc53a52ae8218a355a9"
        "6d8770ac83d07bea87e13c512a",
    ),
    Vector(
        name="RFC9180-A.3.1-P256-HKDF-SHA256-AES-128-GCM",
        kem=hpke.KEM.P256,
        aead=hpke.AEAD.AES_128_GCM,
        sk_rm="f3ce7fdae57e1a310d87f1ebbde6f328be0a99cdbcadf4d6589cf29de4b8ffd2",
        pk_rm="04fe8c19ce0905191ebc298a9245792531f26f0cece2460639e8bc39cb7f70"
        "6a826a779b4cf969b8a0e539c7f62fb3d30ad6aa8f80e30f1d128aafd68a2ce72ea0",
        enc="04a92719c6195d5085104f469a8b9814d5838ff72b60501e2c4466e5e67b325"
        "ac98536d7b61a1af4b78e5b7f951c0900be863c403ce65c9bfcb9382657222d18c4",
        ct="5ad590bb8baa577f8619db35a36311226a896e7342a6d836d8b7bcd2f20b6c7f"
        "9076ac232e3ab2523f39513434",
    ),
    Vector(
        name="CFRG-X25519-HKDF-SHA256-AES-256-GCM",
        kem=hpke.KEM.X25519,
        aead=hpke.AEAD.AES_256_GCM,
        sk_rm="497b4502664cfea5d5af0b39934dac72242a74f8480451e1aee7d6a53320333d",
        pk_rm="430f4b9859665145a6b1ba274024487bd66f03a2dd577d7753c68d7d7d00c00c",
        enc="6c93e09869df3402d7bf231bf540fadd35cd56be14f97178f0954db94b7fc256",
        ct="e5d84cd531cfb583096e7cfa9641bd3079cf3a91cda813c52deb5f512be99319"
        "80a41de125a925cdad859d5b7a",
    ),
    Vector(
        name="CFRG-P256-HKDF-SHA256-AES-256-GCM",
        kem=hpke.KEM.P256,
        aead=hpke.AEAD.AES_256_GCM,
        sk_rm="317f915db7bc629c48fe765587897e01e282d3e8445f79f27f65d031a88082b2",
        pk_rm="04abc7e49a4c6b3566d77d0304addc6ed0e98512ffccf505e6a8e3eb25c685136f"
        "853148544876de76c0f2ef99cdc3a05ccf5ded7860c7c021238f9e2073d2356c",
        enc="04c06b4f6bebc7bb495cb797ab753f911aff80aefb86fd8b6fcc35525f3ab5f03e"
        "0b21bd31a86c6048af3cb2d98e0d3bf01da5cc4c39ff5370d331a4f1f7d5a4e0",
        ct="58c61a45059d0c5704560e9d88b564a8b63f1364b8d1fcb3c4c6ddc1d2917424"
        "65e902cd216f8908da49f8f96f",
    ),
]


def _private_key(v: Vector) -> x25519.X25519PrivateKey | ec.EllipticCurvePrivateKey:
    raw = bytes.fromhex(v.sk_rm)
    if v.kem == hpke.KEM.X25519:
        return x25519.X25519PrivateKey.from_private_bytes(raw)
    # DHKEM(P-256) SerializePrivateKey is the 32-byte big-endian scalar (RFC 9180 7.1.2).
    return ec.derive_private_key(int.from_bytes(raw, "big"), ec.SECP256R1())


def _public_bytes(sk: x25519.X25519PrivateKey | ec.EllipticCurvePrivateKey) -> bytes:
    if isinstance(sk, x25519.X25519PrivateKey):
        return sk.public_key().public_bytes_raw()
    # DHKEM(P-256) SerializePublicKey is the uncompressed SEC1 point (RFC 9180 7.1.1).
    return sk.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)


def _suite(v: Vector) -> hpke.Suite:
    return hpke.Suite(v.kem, hpke.KDF.HKDF_SHA256, v.aead)


@pytest.mark.parametrize("v", VECTORS, ids=lambda v: v.name)
def test_public_key_derived_from_private_matches_vector(v: Vector) -> None:
    assert _public_bytes(_private_key(v)).hex() == v.pk_rm


@pytest.mark.parametrize("v", VECTORS, ids=lambda v: v.name)
def test_enc_length_matches_vector(v: Vector) -> None:
    assert v.kem.enc_length() == len(bytes.fromhex(v.enc))


@pytest.mark.parametrize("v", VECTORS, ids=lambda v: v.name)
def test_decrypt_sequence0(v: Vector) -> None:
    # Single-shot wire form is enc || ct.
    blob = bytes.fromhex(v.enc) + bytes.fromhex(v.ct)
    pt = _decrypt_with_aad(_suite(v), blob, _private_key(v), info=INFO, aad=AAD_SEQ0)
    assert pt == PT


@pytest.mark.parametrize("v", VECTORS, ids=lambda v: v.name)
@pytest.mark.parametrize("what", ["info", "aad", "enc", "ct"])
def test_decrypt_sequence0_rejects_any_change(v: Vector, what: str) -> None:
    enc, ct = bytearray(bytes.fromhex(v.enc)), bytearray(bytes.fromhex(v.ct))
    info, aad = INFO, AAD_SEQ0
    if what == "info":
        info = INFO + b"!"
    elif what == "aad":
        aad = b"Count-1"
    elif what == "enc":
        enc[-1] ^= 0x01
    else:
        ct[0] ^= 0x80
    with pytest.raises(Exception):  # the binding raises several types
        _decrypt_with_aad(_suite(v), bytes(enc + ct), _private_key(v), info=info, aad=aad)


@pytest.mark.parametrize("v", VECTORS, ids=lambda v: v.name)
def test_private_helper_with_empty_aad_is_the_public_api(v: Vector) -> None:
    """``_decrypt_with_aad`` is the public single-shot API plus aad, nothing else."""
    sk = _private_key(v)
    blob = _suite(v).encrypt(PT, sk.public_key(), info=INFO)
    assert _decrypt_with_aad(_suite(v), blob, sk, info=INFO, aad=b"") == PT
    assert _decrypt_with_aad(_suite(v), blob, sk, info=INFO) == PT
    with pytest.raises(Exception):  # the binding raises several types
        _decrypt_with_aad(_suite(v), blob, sk, info=INFO, aad=AAD_SEQ0)
    # ... and the vector's ct, made with aad "Count-0", does not open without it.
    vector_blob = bytes.fromhex(v.enc) + bytes.fromhex(v.ct)
    with pytest.raises(Exception):  # the binding raises several types
        _suite(v).decrypt(vector_blob, sk, info=INFO)


# --- MLKEM768-X25519 (suite 3's KEM) ----------------------------------------------------

PQ = json.loads((Path(__file__).parent / "vectors" / "hpke_mlkem768_x25519.json").read_text())


def _xwing_private_key(seed: bytes) -> tuple[mlkem.MLKEM768PrivateKey, x25519.X25519PrivateKey]:
    """X-Wing / MLKEM768-X25519 private key expansion: SHAKE256(seed, 96) gives the
    64-byte ML-KEM-768 seed (d || z) followed by the 32-byte X25519 scalar.

    (Strongroom stores the expanded form -- ML-KEM seed || X25519 scalar, 96 bytes --
    not the 32-byte X-Wing seed; see docs/ciphertext.md.)
    """
    expanded = hashlib.shake_256(seed).digest(96)
    return (
        mlkem.MLKEM768PrivateKey.from_seed_bytes(expanded[:64]),
        x25519.X25519PrivateKey.from_private_bytes(expanded[64:]),
    )


def test_mlkem768_x25519_vector_shape() -> None:
    assert (PQ["mode"], PQ["kem_id"], PQ["kdf_id"], PQ["aead_id"]) == (0, 0x647A, 1, 3)
    assert len(bytes.fromhex(PQ["enc"])) == hpke.KEM.MLKEM768_X25519.enc_length() == 1120
    assert len(bytes.fromhex(PQ["pkRm"])) == 1184 + 32


def test_mlkem768_x25519_public_key_layout() -> None:
    """pkRm = ML-KEM-768 encapsulation key (1184) || X25519 public key (32): our layout."""
    mk, xk = _xwing_private_key(bytes.fromhex(PQ["skRm"]))
    public = mk.public_key().public_bytes_raw() + xk.public_key().public_bytes_raw()
    assert public.hex() == PQ["pkRm"]


def test_mlkem768_x25519_decrypt_sequence0() -> None:
    mk, xk = _xwing_private_key(bytes.fromhex(PQ["skRm"]))
    sk = hpke.MLKEM768X25519PrivateKey(mk, xk)
    suite = hpke.Suite(hpke.KEM.MLKEM768_X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.CHACHA20_POLY1305)
    seq0 = PQ["seq0"]
    blob = bytes.fromhex(PQ["enc"]) + bytes.fromhex(seq0["ct"])
    info, aad = bytes.fromhex(PQ["info"]), bytes.fromhex(seq0["aad"])
    assert _decrypt_with_aad(suite, blob, sk, info=info, aad=aad).hex() == seq0["pt"]
    tampered = bytearray(blob)
    tampered[100] ^= 0x01  # inside the ML-KEM ciphertext: implicit rejection, then AEAD fails
    with pytest.raises(Exception):  # the binding raises several types
        _decrypt_with_aad(suite, bytes(tampered), sk, info=info, aad=aad)
