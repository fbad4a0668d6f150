"""Envelope behaviour for all four suites: round trips, binding, tampering, limits."""

from __future__ import annotations

import functools
import struct
from dataclasses import replace
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from strongroom.crypto import codec, envelope, suites
from strongroom.crypto.binding import Binding
from strongroom.crypto.errors import CiphertextError, DataKeyExhaustedError
from strongroom.crypto.suites import SuiteId

PREFIX = "sr"
ALL_SUITES = list(SuiteId)
# ML-KEM keys and headers are large; keep its property tests short.
FAST = {s: 25 for s in SuiteId} | {SuiteId.MLKEM768_X25519_HPKE: 10}


@functools.cache
def material(suite: SuiteId, n: int = 0) -> suites.KeyMaterial:
    """Key material per (suite, n), generated once per test session."""
    return suites.generate(suite)


def recipient(suite: SuiteId, n: int = 0) -> Any:
    km = material(suite, n)
    return suites.load_public(suite, km.public) if suites.is_asymmetric(suite) else km.private


def private(suite: SuiteId, n: int = 0) -> Any:
    km = material(suite, n)
    return suites.load_private(suite, km.private) if suites.is_asymmetric(suite) else km.private


def seal_texts(binding: Binding, items: list[bytes], n: int = 0) -> list[str]:
    dk = envelope.new_data_key(binding, recipient(SuiteId(binding.suite), n))
    head = codec.text_prefix(PREFIX, binding.version)
    return [head + codec.b64url(raw) for raw in dk.seal_batch(items)]


def open_text(text: str, tenant: str, user_id: str, context: str, key: Any) -> bytes:
    """What the service does: parse, bind to the *parsed* version, open the data key."""
    version, payload = codec.parse_text(PREFIX, text)
    binding = Binding(payload.suite, tenant, user_id, version, context)
    return envelope.open_data_key(binding, key, payload.header).open(payload)


def open_raw(raw: bytes, binding: Binding, key: Any) -> bytes:
    payload = codec.decode_payload(raw)
    return envelope.open_data_key(binding, key, payload.header).open(payload)


def _binding(suite: SuiteId, context: str = "ctx") -> Binding:
    return Binding(suite, "tenant-a", "user-1", 3, context)


suite_param = pytest.mark.parametrize("suite", ALL_SUITES, ids=lambda s: s.name)
names = st.text(min_size=1, max_size=20)


def _property(suite: SuiteId, test: Any) -> None:
    settings(
        max_examples=FAST[suite],
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )(test)()


# --- round trips ----------------------------------------------------------------------


@suite_param
def test_round_trip_property(suite: SuiteId) -> None:
    @given(
        items=st.lists(st.binary(max_size=200), min_size=1, max_size=4),
        tenant=names,
        user_id=names,
        version=st.integers(1, 2**32 - 1),
        context=st.text(max_size=30),
    )
    def check(items: list[bytes], tenant: str, user_id: str, version: int, context: str) -> None:
        binding = Binding(suite, tenant, user_id, version, context)
        texts = seal_texts(binding, items)
        for text, item in zip(texts, items, strict=True):
            assert text.startswith(f"sr:v{version}:")
            assert open_text(text, tenant, user_id, context, private(suite)) == item

    _property(suite, check)


@suite_param
def test_batch_shares_header_and_commitment_but_not_nonces(suite: SuiteId) -> None:
    items = [b"item-%d" % i for i in range(200)]
    dk = envelope.new_data_key(_binding(suite), recipient(suite))
    raws = dk.seal_batch(items[:100]) + [dk.seal(i) for i in items[100:]]
    payloads = [codec.decode_payload(r) for r in raws]
    assert {(p.header, p.commitment) for p in payloads} == {(dk.header, dk.commitment)}
    assert len({p.nonce for p in payloads}) == len(items)
    h = codec.HEADER_LEN[suite]
    for raw, item in zip(raws, items, strict=True):
        assert len(raw) == 3 + h + 32 + 12 + len(item) + 16
    # Every item is self-contained: each opens alone, with a fresh open_data_key.
    for raw, item in zip(raws[::37], items[::37], strict=True):
        assert open_raw(raw, _binding(suite), private(suite)) == item


@suite_param
def test_each_request_gets_a_fresh_data_key(suite: SuiteId) -> None:
    a = envelope.new_data_key(_binding(suite), recipient(suite))
    b = envelope.new_data_key(_binding(suite), recipient(suite))
    assert a.header != b.header
    assert a.commitment != b.commitment
    assert len(a.header) == codec.HEADER_LEN[suite]


@suite_param
def test_absent_and_empty_context_are_the_same(suite: SuiteId) -> None:
    (text,) = seal_texts(Binding(suite, "t", "u", 1), [b"x"])
    assert open_text(text, "t", "u", "", private(suite)) == b"x"
    with pytest.raises(CiphertextError):
        open_text(text, "t", "u", " ", private(suite))


# --- binding: any change of tenant, user, version, context or suite fails ----------


@suite_param
@pytest.mark.parametrize(
    "change",
    [
        {"tenant": "tenant-b"},
        {"tenant": "tenant-a "},
        {"user_id": "user-2"},
        {"user_id": "User-1"},
        {"version": 4},
        {"version": 2},
        {"context": "ctx2"},
        {"context": ""},
        {"context": "ct"},
    ],
    ids=lambda c: "-".join(f"{k}={v!r}" for k, v in c.items()),
)
def test_binding_field_change_fails(suite: SuiteId, change: dict[str, Any]) -> None:
    binding = _binding(suite)
    (raw,) = envelope.new_data_key(binding, recipient(suite)).seal_batch([b"secret"])
    assert open_raw(raw, binding, private(suite)) == b"secret"
    with pytest.raises(CiphertextError):
        open_raw(raw, replace(binding, **change), private(suite))


@suite_param
def test_binding_change_property(suite: SuiteId) -> None:
    @given(
        tenant=names,
        user_id=names,
        version=st.integers(1, 2**32 - 1),
        context=st.text(max_size=20),
        field=st.sampled_from(["tenant", "user_id", "version", "context"]),
        data=st.data(),
    )
    def check(tenant: str, user_id: str, version: int, context: str, field: str, data: Any) -> None:
        binding = Binding(suite, tenant, user_id, version, context)
        (raw,) = envelope.new_data_key(binding, recipient(suite)).seal_batch([b"v"])
        new: Any
        if field == "version":
            new = data.draw(st.integers(1, 2**32 - 1).filter(lambda v: v != version))
        else:
            new = data.draw(st.text(max_size=20).filter(lambda s: s != getattr(binding, field)))
        with pytest.raises(CiphertextError):
            open_raw(raw, replace(binding, **{field: new}), private(suite))

    _property(suite, check)


@suite_param
def test_editing_the_version_in_the_text_fails(suite: SuiteId) -> None:
    (text,) = seal_texts(_binding(suite), [b"secret"])
    assert text.startswith("sr:v3:")
    for other in ("sr:v2:", "sr:v4:", "sr:v4294967295:"):
        with pytest.raises(CiphertextError):
            open_text(other + text[len("sr:v3:") :], "tenant-a", "user-1", "ctx", private(suite))


@pytest.mark.parametrize(
    ("suite", "other"), [(a, b) for a in ALL_SUITES for b in ALL_SUITES if a != b], ids=str
)
def test_suite_is_bound(suite: SuiteId, other: SuiteId) -> None:
    """The same data key and header under a binding naming another suite do not open.

    (A relabelled suite byte never even parses -- see test_codec -- so this checks the
    binding itself: the suite is in the data-key expansion and the GCM AAD.)
    """
    binding = _binding(suite)
    dk_bytes = bytes(range(32))
    header = bytes(codec.HEADER_LEN[suite])
    raw = envelope.DataKey(dk_bytes, binding, header).seal(b"secret")
    payload = codec.decode_payload(raw)
    assert envelope.DataKey(dk_bytes, binding, header).open(payload) == b"secret"
    relabelled = envelope.DataKey(dk_bytes, replace(binding, suite=other), header)
    with pytest.raises(CiphertextError) as err:
        relabelled.open(payload)
    assert err.value.reason == "commitment"


@pytest.mark.parametrize(
    ("suite", "other"),
    [
        (a, b)
        for a in ALL_SUITES
        for b in ALL_SUITES
        if a != b and suites.is_asymmetric(a) and suites.is_asymmetric(b)
    ],
    ids=str,
)
def test_hpke_header_does_not_open_under_another_hpke_suite(suite: SuiteId, other: SuiteId) -> None:
    (raw,) = envelope.new_data_key(_binding(suite), recipient(suite)).seal_batch([b"x"])
    header = codec.decode_payload(raw).header
    with pytest.raises(CiphertextError):
        envelope.open_data_key(replace(_binding(suite), suite=other), private(other), header)
    with pytest.raises(CiphertextError):
        envelope.open_data_key(replace(_binding(suite), suite=other), private(suite), header)


@suite_param
def test_other_users_key_fails(suite: SuiteId) -> None:
    binding = _binding(suite)
    (raw,) = envelope.new_data_key(binding, recipient(suite, 0)).seal_batch([b"secret"])
    with pytest.raises(CiphertextError):
        open_raw(raw, binding, private(suite, 1))


# --- tampering --------------------------------------------------------------------------


def _region(suite: SuiteId, pos: int) -> str:
    h = codec.HEADER_LEN[suite]
    if pos == 0:
        return "suite"
    if pos < 3:
        return "length"
    if pos < 3 + h:
        return "header"
    if pos < 35 + h:
        return "commitment"
    return "body"  # nonce, ciphertext, tag


def _expected_reasons(suite: SuiteId, region: str) -> set[str]:
    return {
        "suite": {"unknown-suite", "bad-header-length"},
        "length": {"bad-header-length"},
        # HPKE: the sealed data key fails to open; aes256-gcm: the salt gives another DK.
        "header": {"hpke-open"} if suites.is_asymmetric(suite) else {"commitment"},
        "commitment": {"commitment"},
        "body": {"tag"},
    }[region]


@suite_param
def test_single_byte_flip_anywhere_fails(suite: SuiteId) -> None:
    binding = _binding(suite)
    (raw,) = envelope.new_data_key(binding, recipient(suite)).seal_batch([b"sixteen byte msg"])

    @given(pos=st.integers(0, len(raw) - 1), mask=st.integers(1, 255))
    def check(pos: int, mask: int) -> None:
        tampered = bytearray(raw)
        tampered[pos] ^= mask
        text = codec.text_prefix(PREFIX, 3) + codec.b64url(bytes(tampered))
        with pytest.raises(CiphertextError) as err:
            open_text(text, "tenant-a", "user-1", "ctx", private(suite))
        assert err.value.reason in _expected_reasons(suite, _region(suite, pos))

    settings(max_examples=4 * FAST[suite], deadline=None)(check)()


@suite_param
def test_every_region_flip_fails_with_its_reason(suite: SuiteId) -> None:
    """Deterministic companion of the property test: first and last byte of each region."""
    binding = _binding(suite)
    (raw,) = envelope.new_data_key(binding, recipient(suite)).seal_batch([b"payload"])
    h = codec.HEADER_LEN[suite]
    for pos in sorted({0, 1, 2, 3, 2 + h, 3 + h, 34 + h, 35 + h, 46 + h, 47 + h, len(raw) - 1}):
        tampered = bytearray(raw)
        tampered[pos] ^= 0x01
        with pytest.raises(CiphertextError) as err:
            open_raw(bytes(tampered), binding, private(suite))
        assert err.value.reason in _expected_reasons(suite, _region(suite, pos)), pos


@suite_param
def test_truncation_and_extension_fail(suite: SuiteId) -> None:
    binding = _binding(suite)
    (raw,) = envelope.new_data_key(binding, recipient(suite)).seal_batch([b"0123456789abcdef!"])
    key = private(suite)
    for n in range(len(raw)):
        with pytest.raises(CiphertextError):
            open_raw(raw[:n], binding, key)
    for extra in (b"\x00", b"\x00" * 16, raw[-16:]):
        with pytest.raises(CiphertextError):
            open_raw(raw + extra, binding, key)
    text = seal_texts(binding, [b"0123456789abcdef!"])[0]
    for n in range(len(text) - 1, len(text) - 40, -1):
        with pytest.raises(CiphertextError):
            open_text(text[:n], "tenant-a", "user-1", "ctx", key)


@suite_param
def test_swapped_header_or_body_fails(suite: SuiteId) -> None:
    """Mixing the prefix of one data key with the body of another fails the commitment."""
    binding = _binding(suite)
    (a,) = envelope.new_data_key(binding, recipient(suite)).seal_batch([b"first"])
    (b,) = envelope.new_data_key(binding, recipient(suite)).seal_batch([b"secnd"])
    cut = 35 + codec.HEADER_LEN[suite]
    for mixed in (a[:cut] + b[cut:], b[:cut] + a[cut:]):
        with pytest.raises(CiphertextError) as err:
            open_raw(mixed, binding, private(suite))
        assert err.value.reason == "tag"
    # Header of a with commitment of b: the commitment check catches it.
    h_end = 3 + codec.HEADER_LEN[suite]
    with pytest.raises(CiphertextError) as err:
        open_raw(a[:h_end] + b[h_end:], binding, private(suite))
    assert err.value.reason == "commitment"


# --- key commitment -----------------------------------------------------------------------


class _SpyAead:
    def __init__(self, real: AESGCM) -> None:
        self.real, self.calls = real, 0

    def decrypt(self, nonce: bytes, data: bytes, aad: bytes) -> bytes:
        self.calls += 1
        return self.real.decrypt(nonce, data, aad)


@suite_param
def test_commitment_checked_before_decryption(
    suite: SuiteId, monkeypatch: pytest.MonkeyPatch
) -> None:
    binding = _binding(suite)
    (raw,) = envelope.new_data_key(binding, recipient(suite)).seal_batch([b"secret"])
    payload = codec.decode_payload(raw)
    dk = envelope.open_data_key(binding, private(suite), payload.header)
    spy = _SpyAead(dk._aead)
    monkeypatch.setattr(dk, "_aead", spy)  # a stand-in, not an AESGCM
    bad = payload._replace(commitment=bytes(a ^ 1 for a in payload.commitment))
    with pytest.raises(CiphertextError) as err:
        dk.open(bad)
    assert err.value.reason == "commitment"
    assert spy.calls == 0
    assert dk.open(payload) == b"secret"
    assert spy.calls == 1


@suite_param
def test_commitment_is_the_second_half_of_the_expansion(suite: SuiteId) -> None:
    """Independent recomputation: HKDF-SHA256(DK, salt="", info=lp("sr-dk-expand", binding))."""
    binding = _binding(suite)
    dk_bytes = bytes(range(100, 132))
    dk = envelope.DataKey(dk_bytes, binding, bytes(codec.HEADER_LEN[suite]))
    label = b"sr-dk-expand"
    info = struct.pack(">I", len(label)) + label
    info += struct.pack(">I", len(binding.encode())) + binding.encode()
    okm = HKDF(hashes.SHA256(), length=64, salt=b"", info=info).derive(dk_bytes)
    assert dk.commitment == okm[32:]


# --- data-key item limit -------------------------------------------------------------------


def test_default_item_limit_is_2_pow_20() -> None:
    assert envelope.MAX_ITEMS_PER_DATA_KEY == 2**20


@suite_param
def test_item_limit(suite: SuiteId, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(envelope, "MAX_ITEMS_PER_DATA_KEY", 3)
    dk = envelope.new_data_key(_binding(suite), recipient(suite))
    assert len(dk.seal_batch([b"a", b"b"])) == 2
    with pytest.raises(DataKeyExhaustedError):
        dk.seal_batch([b"c", b"d"])  # would make 4; nothing sealed, nothing counted
    dk.seal(b"c")
    with pytest.raises(DataKeyExhaustedError):
        dk.seal(b"d")
    with pytest.raises(DataKeyExhaustedError):
        dk.seal_batch([b"d"])
    assert dk.seal_batch([]) == []
    # A new request gets a new data key with a fresh budget.
    fresh = envelope.new_data_key(_binding(suite), recipient(suite))
    assert len(fresh.seal_batch([b"x", b"y", b"z"])) == 3
    with pytest.raises(DataKeyExhaustedError):
        fresh.seal(b"w")


def test_item_limit_single_batch_over_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(envelope, "MAX_ITEMS_PER_DATA_KEY", 5)
    dk = envelope.new_data_key(_binding(SuiteId.X25519_HPKE), recipient(SuiteId.X25519_HPKE))
    with pytest.raises(DataKeyExhaustedError):
        dk.seal_batch([b""] * 6)
    assert len(dk.seal_batch([b""] * 5)) == 5


# --- malformed inputs to open_data_key ---------------------------------------------------------


@pytest.mark.parametrize("suite", [s for s in SuiteId if suites.is_asymmetric(s)], ids=str)
@pytest.mark.parametrize("header_kind", ["empty", "zeros", "short", "long"])
def test_garbage_hpke_header_is_a_ciphertext_error(suite: SuiteId, header_kind: str) -> None:
    h = codec.HEADER_LEN[suite]
    header = {
        "empty": b"",
        "zeros": bytes(h),
        "short": bytes(range(256))[: h // 3],
        "long": bytes(h + 1),
    }[header_kind]
    with pytest.raises(CiphertextError) as err:
        envelope.open_data_key(_binding(suite), private(suite), header)
    assert err.value.reason == "hpke-open"
