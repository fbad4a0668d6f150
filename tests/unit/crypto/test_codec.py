"""The ciphertext wire format: text form, payload layout and binding encoding."""

from __future__ import annotations

import struct

import pytest
from cryptography.hazmat.primitives import hpke
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from strongroom.crypto import codec, suites
from strongroom.crypto.binding import FORMAT_TAG, Binding, lp
from strongroom.crypto.codec import Payload
from strongroom.crypto.errors import CiphertextError
from strongroom.crypto.suites import SuiteId

ALL_SUITES = list(SuiteId)
PREFIX = "sr"
MIN_BODY = codec.COMMITMENT_LEN + codec.NONCE_LEN + codec.TAG_LEN  # 60


def _payload(suite: SuiteId, ct: bytes = bytes(16), fill: int = 0xAB) -> Payload:
    return Payload(
        suite=suite,
        header=bytes([fill]) * codec.HEADER_LEN[suite],
        commitment=bytes(range(32)),
        nonce=bytes(range(100, 112)),
        ciphertext=ct,
    )


# --- public constants: these are a contract and may never change ------------------


def test_suite_ids_and_key_type_names_are_fixed() -> None:
    assert {s.name: int(s) for s in SuiteId} == {
        "X25519_HPKE": 1,
        "P256_HPKE": 2,
        "MLKEM768_X25519_HPKE": 3,
        "AES256_GCM": 4,
    }
    assert suites.KEY_TYPES == {
        "x25519-hpke": SuiteId.X25519_HPKE,
        "p256-hpke": SuiteId.P256_HPKE,
        "mlkem768-x25519-hpke": SuiteId.MLKEM768_X25519_HPKE,
        "aes256-gcm": SuiteId.AES256_GCM,
    }


def test_header_lengths_are_fixed() -> None:
    assert codec.HEADER_LEN == {
        SuiteId.X25519_HPKE: 80,
        SuiteId.P256_HPKE: 113,
        SuiteId.MLKEM768_X25519_HPKE: 1168,
        SuiteId.AES256_GCM: 32,
    }
    assert (codec.COMMITMENT_LEN, codec.NONCE_LEN, codec.TAG_LEN) == (32, 12, 16)


@pytest.mark.parametrize("suite", [s for s in SuiteId if suites.is_asymmetric(s)])
def test_hpke_header_length_is_enc_plus_sealed_data_key(suite: SuiteId) -> None:
    """HPKE header = Nenc + 32-byte data key + 16-byte GCM tag, as the KEM really emits."""
    kem_enc = {
        SuiteId.X25519_HPKE: hpke.KEM.X25519,
        SuiteId.P256_HPKE: hpke.KEM.P256,
        SuiteId.MLKEM768_X25519_HPKE: hpke.KEM.MLKEM768_X25519,
    }[suite].enc_length()
    assert codec.HEADER_LEN[suite] == kem_enc + 32 + 16
    public = suites.load_public(suite, suites.generate(suite).public)
    assert (
        len(suites.hpke_suite(suite).encrypt(bytes(32), public, info=b"i"))
        == (codec.HEADER_LEN[suite])
    )


# --- payload layout -----------------------------------------------------------------


@pytest.mark.parametrize("suite", ALL_SUITES, ids=lambda s: s.name)
def test_payload_layout_offsets(suite: SuiteId) -> None:
    p = _payload(suite, ct=b"C" * 20)
    raw = codec.encode_payload(p)
    h = codec.HEADER_LEN[suite]
    assert raw[0] == int(suite)
    assert struct.unpack(">H", raw[1:3])[0] == h
    assert raw[3 : 3 + h] == p.header
    assert raw[3 + h : 35 + h] == p.commitment
    assert raw[35 + h : 47 + h] == p.nonce
    assert raw[47 + h :] == p.ciphertext
    assert codec.payload_prefix(suite, p.header, p.commitment) == raw[: 35 + h]


@pytest.mark.parametrize("suite", ALL_SUITES, ids=lambda s: s.name)
@settings(max_examples=20)
@given(ct=st.binary(min_size=16, max_size=300), fill=st.integers(0, 255))
def test_payload_round_trip(suite: SuiteId, ct: bytes, fill: int) -> None:
    p = _payload(suite, ct=ct, fill=fill)
    assert codec.decode_payload(codec.encode_payload(p)) == p


@pytest.mark.parametrize("suite", ALL_SUITES, ids=lambda s: s.name)
def test_payload_minimum_length(suite: SuiteId) -> None:
    """The ciphertext field holds at least the 16-byte tag; one byte less is rejected."""
    raw = codec.encode_payload(_payload(suite, ct=bytes(16)))
    assert len(raw) == 3 + codec.HEADER_LEN[suite] + MIN_BODY
    assert codec.decode_payload(raw).ciphertext == bytes(16)
    for n in range(len(raw)):
        with pytest.raises(CiphertextError) as err:
            codec.decode_payload(raw[:n])
        assert err.value.reason in {"truncated", "bad-header-length"}


@pytest.mark.parametrize("suite_byte", [0, 5, 6, 0x80, 0xFF])
def test_unknown_suite_rejected(suite_byte: int) -> None:
    raw = bytes([suite_byte]) + codec.encode_payload(_payload(SuiteId.X25519_HPKE))[1:]
    with pytest.raises(CiphertextError) as err:
        codec.decode_payload(raw)
    assert err.value.reason == "unknown-suite"


@pytest.mark.parametrize("suite", ALL_SUITES, ids=lambda s: s.name)
@pytest.mark.parametrize("delta", [-1, 1, 0x100, -0x100])
def test_wrong_header_length_rejected(suite: SuiteId, delta: int) -> None:
    raw = bytearray(codec.encode_payload(_payload(suite, ct=bytes(600))))
    struct.pack_into(">H", raw, 1, (codec.HEADER_LEN[suite] + delta) % 0x10000)
    with pytest.raises(CiphertextError) as err:
        codec.decode_payload(bytes(raw))
    assert err.value.reason == "bad-header-length"


@pytest.mark.parametrize(
    ("suite", "other"), [(a, b) for a in ALL_SUITES for b in ALL_SUITES if a != b], ids=str
)
def test_relabelled_suite_rejected(suite: SuiteId, other: SuiteId) -> None:
    """No two suites share a header length, so a relabelled suite byte never parses."""
    raw = bytes([other]) + codec.encode_payload(_payload(suite, ct=bytes(2000)))[1:]
    with pytest.raises(CiphertextError):
        codec.decode_payload(raw)


# --- base64url ----------------------------------------------------------------------


@given(st.binary(max_size=200))
def test_b64url_round_trip_unpadded(data: bytes) -> None:
    text = codec.b64url(data)
    assert "=" not in text and "+" not in text and "/" not in text
    assert codec.unb64url(text) == data
    assert codec.b64url(codec.unb64url(text)) == text


@pytest.mark.parametrize("text", ["AA==", "AAA=", "A+A/", "AA AA", "A", "AAAAA", "AA\n", "ÄA"])
def test_unb64url_rejects_padding_alphabet_and_bad_length(text: str) -> None:
    with pytest.raises(CiphertextError) as err:
        codec.unb64url(text)
    assert err.value.reason == "bad-base64"


# --- text form and version rules ---------------------------------------------------


def _text(version: str, payload: bytes | None = None) -> str:
    raw = payload if payload is not None else codec.encode_payload(_payload(SuiteId.X25519_HPKE))
    return f"{PREFIX}:{version}:{codec.b64url(raw)}"


@pytest.mark.parametrize("version", [1, 2, 9, 10, 123456, 2**31, 2**32 - 1])
def test_valid_versions(version: int) -> None:
    assert codec.text_prefix(PREFIX, version) == f"sr:v{version}:"
    got, payload = codec.parse_text(PREFIX, _text(f"v{version}"))
    assert got == version
    assert payload == _payload(SuiteId.X25519_HPKE)
    assert codec.parse_version(PREFIX, _text(f"v{version}")) == version


@pytest.mark.parametrize(
    "version",
    [
        "v0",
        "v00",
        "v01",
        "v007",
        "v+1",
        "v-1",
        "v 1",
        "v1 ",
        " v1",
        "V1",
        "1",
        "v",
        "",
        "v1.0",
        "v1e3",
        "v0x1",
        "v\u0661",  # Arabic-Indic digit one
        "v\uff11",  # fullwidth digit one
        "v\u00b9",  # superscript one
        f"v{2**32}",
        f"v{2**32 + 5}",
        "v99999999999",
        "v" + "1" * 40,
    ],
)
def test_invalid_versions_rejected(version: str) -> None:
    with pytest.raises(CiphertextError) as err:
        codec.parse_text(PREFIX, _text(version))
    assert err.value.reason == "bad-version"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "sr",
        "sr:v1",
        "xx:v1:AAAA",
        "SR:v1:AAAA",
        "sr:v1:AAAA:AAAA",
        ":sr:v1:AAAA",
        "sr::v1:AAAA",
    ],
)
def test_bad_prefix_or_shape_rejected(text: str) -> None:
    with pytest.raises(CiphertextError):
        codec.parse_text(PREFIX, text)


def test_other_prefix_is_honoured() -> None:
    text = _text("v3").replace("sr:", "vault:", 1)
    assert codec.parse_text("vault", text)[0] == 3
    with pytest.raises(CiphertextError):
        codec.parse_text(PREFIX, text)


def test_empty_or_short_payload_rejected() -> None:
    for payload in ["", "AQ", "AQAA", "AQBQ"]:
        with pytest.raises(CiphertextError):
            codec.parse_text(PREFIX, f"sr:v1:{payload}")


# --- parser fuzz: any input gives a result or CiphertextError, nothing else ---------

_B64_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def _parse_or_ciphertext_error(text: str) -> None:
    try:
        version, payload = codec.parse_text(PREFIX, text)
    except CiphertextError:
        return
    assert 1 <= version <= codec.MAX_VERSION
    assert len(payload.header) == codec.HEADER_LEN[payload.suite]
    assert len(payload.ciphertext) >= codec.TAG_LEN


@settings(max_examples=300)
@given(st.text())
def test_parser_fuzz_arbitrary_text(text: str) -> None:
    _parse_or_ciphertext_error(text)


@settings(max_examples=300)
@given(
    version=st.one_of(st.integers(-5, 2**33).map(str), st.text(max_size=12)),
    body=st.one_of(st.text(alphabet=_B64_ALPHABET, max_size=200), st.text(max_size=50)),
)
def test_parser_fuzz_structured_text(version: str, body: str) -> None:
    _parse_or_ciphertext_error(f"sr:v{version}:{body}")


@settings(max_examples=300)
@given(
    suite=st.integers(0, 255),
    hlen=st.one_of(st.sampled_from(sorted(codec.HEADER_LEN.values())), st.integers(0, 0xFFFF)),
    rest=st.binary(max_size=1400),
)
def test_parser_fuzz_binary_payload(suite: int, hlen: int, rest: bytes) -> None:
    raw = bytes([suite]) + struct.pack(">H", hlen) + rest
    _parse_or_ciphertext_error(f"sr:v1:{codec.b64url(raw)}")


# --- looks_like_ciphertext ------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [_text("v1"), _text("v42"), "sr:v1:", "sr:v1:not-even-base64!"],
)
def test_looks_like_ciphertext_true(value: str) -> None:
    assert codec.looks_like_ciphertext(PREFIX, value)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "sr",
        "sr:",
        "sr:v1",
        "sr:v0:AAAA",
        "sr:v01:AAAA",
        "sr:1:AAAA",
        "sr:V1:AAAA",
        "srx:v1:AAAA",
        "xsr:v1:AAAA",
        "hello world",
        "sr v1 AAAA",
        "other:v1:AAAA",
    ],
)
def test_looks_like_ciphertext_false(value: str) -> None:
    assert not codec.looks_like_ciphertext(PREFIX, value)


@settings(max_examples=200)
@given(st.text())
def test_everything_parseable_looks_like_ciphertext(text: str) -> None:
    """``looks_like_ciphertext`` never misses a value ``parse_text`` accepts."""
    try:
        codec.parse_text(PREFIX, text)
    except CiphertextError:
        return
    assert codec.looks_like_ciphertext(PREFIX, text)


# --- binding encoding -----------------------------------------------------------------


def _by_hand(suite: int, tenant: str, user: str, version: int, context: str) -> bytes:
    fields = [
        b"sr-ct-1",
        bytes([suite]),
        tenant.encode("utf-8"),
        user.encode("utf-8"),
        struct.pack(">I", version),
        context.encode("utf-8"),
    ]
    return b"".join(struct.pack(">I", len(f)) + f for f in fields)


def test_binding_encoding_known_answer() -> None:
    got = Binding(1, "t", "u", 7, "c").encode()
    assert got.hex() == (
        "00000007" + b"sr-ct-1".hex()
        + "00000001" + "01"
        + "00000001" + "74"
        + "00000001" + "75"
        + "00000004" + "00000007"
        + "00000001" + "63"
    )  # fmt: skip
    assert FORMAT_TAG == b"sr-ct-1"
    assert lp(b"", b"ab") == bytes.fromhex("00000000" + "00000002" + "6162")


_fields = st.tuples(
    st.sampled_from([int(s) for s in SuiteId]),
    st.text(max_size=12),
    st.text(max_size=12),
    st.integers(0, 2**32 - 1),
    st.text(max_size=12),
)


@given(_fields)
def test_binding_encoding_matches_spec(f: tuple[int, str, str, int, str]) -> None:
    assert Binding(*f).encode() == _by_hand(*f)


@settings(max_examples=500)
@given(_fields, _fields)
def test_binding_encoding_is_injective(
    a: tuple[int, str, str, int, str], b: tuple[int, str, str, int, str]
) -> None:
    assume(a != b)
    assert Binding(*a).encode() != Binding(*b).encode()


@given(st.text(max_size=6), st.text(min_size=1, max_size=6), st.text(max_size=6))
def test_binding_encoding_injective_under_field_shifts(x: str, y: str, z: str) -> None:
    """Moving characters across a field boundary always changes the bytes."""
    assert Binding(1, x + y, z, 1, "c").encode() != Binding(1, x, y + z, 1, "c").encode()
    assert Binding(1, "t", x + y, 1, z).encode() != Binding(1, "t", x, 1, y + z).encode()


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (("a:b", "c", ""), ("a", "b:c", "")),
        (("ab", "", ""), ("a", "b", "")),
        (("", "ab", ""), ("a", "b", "")),
        (("t", "u", ""), ("t", "", "u")),
        (("t", "u\x00", ""), ("t", "u", "\x00")),
        (("t", "u", "c"), ("t", "u", "c\x00")),
    ],
)
def test_binding_encoding_classic_collisions(
    a: tuple[str, str, str], b: tuple[str, str, str]
) -> None:
    ta, ua, ca = a
    tb, ub, cb = b
    assert Binding(1, ta, ua, 1, ca).encode() != Binding(1, tb, ub, 1, cb).encode()


def test_absent_and_empty_context_are_the_same_binding() -> None:
    assert Binding(1, "t", "u", 1) == Binding(1, "t", "u", 1, "")
    assert Binding(1, "t", "u", 1).encode() == Binding(1, "t", "u", 1, "").encode()


@pytest.mark.parametrize("version", [-1, 2**32])
def test_binding_refuses_versions_outside_32_bits(version: int) -> None:
    with pytest.raises(struct.error):
        Binding(1, "t", "u", version).encode()


@given(st.binary(max_size=64))
def test_base64url_text_form_is_canonical(data: bytes) -> None:
    text = codec.b64url(data)
    assert codec.unb64url(text) == data
    if len(text) % 4:  # flip the lowest bit of the last character: unused bits
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        twin = text[:-1] + alphabet[alphabet.index(text[-1]) ^ 1]
        with pytest.raises(CiphertextError):
            codec.unb64url(twin)
