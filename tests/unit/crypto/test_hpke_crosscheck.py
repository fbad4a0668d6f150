"""Cross-check our HPKE (pyca ``cryptography``) against a second implementation, pyhpke.

Suites: DHKEM(X25519 | P-256, HKDF-SHA256), HKDF-SHA256, AES-256-GCM, base mode,
single shot (sequence 0, empty aad), with Strongroom's binding as ``info`` --
exactly how ``crypto.envelope`` seals data keys.

pyhpke 0.6.5 has no ML-KEM or hybrid KEM (its ``KEMId`` lists only the five
DHKEMs of RFC 9180), so suite 3 (``mlkem768-x25519-hpke``) cannot be
cross-checked here; ``test_pyhpke_has_no_hybrid_kem`` pins that fact so that
this file is revisited when pyhpke gains one. Suite 3's KEM is instead checked
against the draft-ietf-hpke-pq MLKEM768-X25519 vector in test_hpke_rfc9180.py.

Keys cross the boundary in Strongroom's serialised form (``suites.generate``),
parsed by pyhpke's own RFC 9180 ``DeserializePrivateKey``/``DeserializePublicKey``,
which also checks that our serialisations are the RFC 9180 ones.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyhpke import AEADId, CipherSuite, KDFId, KEMId, KEMKey, OpenError
from pyhpke.kem_key_interface import KEMKeyInterface

from strongroom.crypto import codec, envelope, suites
from strongroom.crypto.binding import Binding
from strongroom.crypto.codec import Payload
from strongroom.crypto.errors import CiphertextError
from strongroom.crypto.suites import SuiteId

PYHPKE_KEM = {
    SuiteId.X25519_HPKE: KEMId.DHKEM_X25519_HKDF_SHA256,
    SuiteId.P256_HPKE: KEMId.DHKEM_P256_HKDF_SHA256,
}
DH_SUITES = list(PYHPKE_KEM)
_ENC_LEN = {SuiteId.X25519_HPKE: 32, SuiteId.P256_HPKE: 65}  # RFC 9180 Nenc


def _pyhpke_suite(suite: SuiteId) -> CipherSuite:
    return CipherSuite.new(PYHPKE_KEM[suite], KDFId.HKDF_SHA256, AEADId.AES256_GCM)


def _keys(suite: SuiteId) -> tuple[suites.KeyMaterial, KEMKeyInterface, KEMKeyInterface]:
    km = suites.generate(suite)
    kem = _pyhpke_suite(suite).kem
    return km, kem.deserialize_private_key(km.private), kem.deserialize_public_key(km.public)


def _info(suite: SuiteId, context: str = "orders:v2") -> bytes:
    return Binding(suite, "tenant-a", "user-1", 7, context).encode()


def pyhpke_seal(suite: SuiteId, pk: KEMKeyInterface, pt: bytes, info: bytes) -> bytes:
    enc, ctx = _pyhpke_suite(suite).create_sender_context(pk, info=info)
    return enc + ctx.seal(pt)


def pyhpke_open(suite: SuiteId, sk: KEMKeyInterface, blob: bytes, info: bytes) -> bytes:
    n = _ENC_LEN[suite]
    ctx = _pyhpke_suite(suite).create_recipient_context(blob[:n], sk, info=info)
    return ctx.open(blob[n:])


def test_pyhpke_has_no_hybrid_kem() -> None:
    # Only the RFC 9180 DHKEMs: no ML-KEM, X-Wing or other hybrid.
    assert {k.name for k in KEMId} == {
        "DHKEM_P256_HKDF_SHA256",
        "DHKEM_P384_HKDF_SHA384",
        "DHKEM_P521_HKDF_SHA512",
        "DHKEM_X25519_HKDF_SHA256",
        "DHKEM_X448_HKDF_SHA512",
    }


@pytest.mark.parametrize("suite", DH_SUITES, ids=lambda s: s.name)
def test_serialisations_are_rfc9180(suite: SuiteId) -> None:
    """pyhpke parses our key serialisations (RFC 9180 DeserializePrivateKey /
    DeserializePublicKey), re-serialises the public key identically and derives the
    same public key from the private one. (pyhpke's ``ECKey.to_private_bytes`` pads to
    ``key_size`` *bytes* where it means bits, so the private side is checked through
    its public key instead.)"""
    km, sk, pk = _keys(suite)
    assert pk.to_public_bytes() == km.public
    assert KEMKey.from_pyca_cryptography_key(sk.raw.public_key()).to_public_bytes() == km.public


@pytest.mark.parametrize("suite", DH_SUITES, ids=lambda s: s.name)
@settings(max_examples=10, deadline=None)
@given(pt=st.binary(max_size=256), context=st.text(max_size=40))
def test_pyhpke_seals_cryptography_opens(suite: SuiteId, pt: bytes, context: str) -> None:
    km, _sk, pk = _keys(suite)
    info = _info(suite, context)
    blob = pyhpke_seal(suite, pk, pt, info)
    private = suites.load_private(suite, km.private)
    assert suites.hpke_suite(suite).decrypt(blob, private, info=info) == pt
    with pytest.raises(Exception):  # the binding raises several types
        suites.hpke_suite(suite).decrypt(blob, private, info=info + b"x")


@pytest.mark.parametrize("suite", DH_SUITES, ids=lambda s: s.name)
@settings(max_examples=10, deadline=None)
@given(pt=st.binary(max_size=256), context=st.text(max_size=40))
def test_cryptography_seals_pyhpke_opens(suite: SuiteId, pt: bytes, context: str) -> None:
    km, sk, _pk = _keys(suite)
    info = _info(suite, context)
    public = suites.load_public(suite, km.public)
    blob = suites.hpke_suite(suite).encrypt(pt, public, info=info)
    assert len(blob) == _ENC_LEN[suite] + len(pt) + 16
    assert pyhpke_open(suite, sk, blob, info) == pt
    with pytest.raises(OpenError):
        pyhpke_open(suite, sk, blob, info + b"x")


@pytest.mark.parametrize("suite", DH_SUITES, ids=lambda s: s.name)
def test_strongroom_header_opens_with_pyhpke(suite: SuiteId) -> None:
    """An envelope header made by our code is a plain HPKE single-shot ciphertext."""
    km, sk, _pk = _keys(suite)
    binding = Binding(suite, "tenant-a", "user-1", 7, "orders:v2")
    dk = envelope.new_data_key(binding, suites.load_public(suite, km.public))
    payload = codec.decode_payload(dk.seal(b"hello"))
    data_key = pyhpke_open(suite, sk, payload.header, binding.encode())
    assert len(data_key) == envelope.DATA_KEY_LEN
    # The recovered key, re-expanded by our code, has the payload's commitment.
    assert envelope.DataKey(data_key, binding, payload.header).commitment == payload.commitment


@pytest.mark.parametrize("suite", DH_SUITES, ids=lambda s: s.name)
def test_header_sealed_by_pyhpke_opens_through_envelope(suite: SuiteId) -> None:
    """A data key sealed by pyhpke opens through ``envelope.open_data_key``."""
    km, _sk, pk = _keys(suite)
    binding = Binding(suite, "tenant-a", "user-1", 7, "orders:v2")
    data_key = bytes(range(32))
    header = pyhpke_seal(suite, pk, data_key, binding.encode())
    assert len(header) == codec.HEADER_LEN[suite]
    sealer = envelope.DataKey(data_key, binding, header)
    raw = sealer.seal(b"payload from a second implementation")
    private = suites.load_private(suite, km.private)
    opener = envelope.open_data_key(binding, private, header)
    assert opener.commitment == sealer.commitment
    assert opener.open(codec.decode_payload(raw)) == b"payload from a second implementation"
    # The same header under another binding (HPKE info) does not open.
    other = Binding(suite, "tenant-a", "user-2", 7, "orders:v2")
    with pytest.raises(CiphertextError):
        envelope.open_data_key(other, private, header)


@pytest.mark.parametrize("suite", DH_SUITES, ids=lambda s: s.name)
def test_header_with_wrong_data_key_length_is_rejected(suite: SuiteId) -> None:
    """A well-formed HPKE header carrying 33 bytes instead of a 32-byte key fails."""
    km, _sk, pk = _keys(suite)
    binding = Binding(suite, "t", "u", 1)
    header = pyhpke_seal(suite, pk, bytes(33), binding.encode())
    with pytest.raises(CiphertextError) as err:
        envelope.open_data_key(binding, suites.load_private(suite, km.private), header)
    assert err.value.reason == "hpke-open"
    # Such a header could never reach here through the codec: its length is wrong.
    with pytest.raises(CiphertextError):
        codec.decode_payload(
            codec.encode_payload(Payload(suite, header, bytes(32), bytes(12), bytes(16)))
        )
