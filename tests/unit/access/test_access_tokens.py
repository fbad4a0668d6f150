"""Access key format: ``srk_{env}_{id}_{secret}_{check}`` with a CRC-32 checksum."""

from __future__ import annotations

import base64
import re
import string
import zlib
from collections.abc import Callable

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from strongroom.access import tokens
from strongroom.access.tokens import ParsedKey

FORMAT = re.compile(r"srk_live_[a-z2-7]{16}_[a-z2-7]{52}_[a-z2-7]{7}")
B32 = string.ascii_lowercase + "234567"

# A few real keys, generated once so that hypothesis replays deterministically.
KEYS = [tokens.generate("live")[0] for _ in range(3)] + [tokens.generate("test")[0]]


def crc_check(body: str) -> str:
    """The documented checksum, computed independently of the module."""
    crc = zlib.crc32(body.encode()).to_bytes(4, "big")
    return base64.b32encode(crc).decode().rstrip("=").lower()


def test_generate_parse_round_trip() -> None:
    seen = set()
    for _ in range(50):
        text, parsed = tokens.generate("live")
        assert FORMAT.fullmatch(text), text
        assert tokens.parse(text) == parsed
        assert parsed.env == "live"
        assert text == f"srk_live_{parsed.key_id}_{parsed.secret}_{crc_check(text[:-8])}"
        seen.add((parsed.key_id, parsed.secret))
    assert len(seen) == 50


def test_test_environment_keys() -> None:
    text, parsed = tokens.generate("test")
    assert text.startswith("srk_test_")
    assert tokens.parse(text) == ParsedKey("test", parsed.key_id, parsed.secret)


@given(
    env=st.sampled_from(["live", "test"]),
    key_id=st.text(B32, min_size=16, max_size=16),
    secret=st.text(B32, min_size=52, max_size=52),
)
def test_parse_accepts_any_well_formed_key(env: str, key_id: str, secret: str) -> None:
    body = f"srk_{env}_{key_id}_{secret}"
    assert tokens.parse(f"{body}_{crc_check(body)}") == ParsedKey(env, key_id, secret)


@given(key=st.sampled_from(KEYS), data=st.data())
def test_any_single_character_change_is_rejected(key: str, data: st.DataObject) -> None:
    pos = data.draw(st.integers(0, len(key) - 1), label="position")
    char = data.draw(
        st.one_of(st.sampled_from(B32 + "_"), st.characters()).filter(lambda c: c != key[pos]),
        label="replacement",
    )
    assert tokens.parse(key[:pos] + char + key[pos + 1 :]) is None


def test_every_single_base32_substitution_is_rejected() -> None:
    """Exhaustive over one key: the checksum catches every in-alphabet typo."""
    key = KEYS[0]
    for pos in range(len(key)):
        for char in B32 + "_":
            if char != key[pos]:
                assert tokens.parse(key[:pos] + char + key[pos + 1 :]) is None, (pos, char)


def test_adjacent_transposition_is_rejected() -> None:
    key = KEYS[0]
    for pos in range(len(key) - 1):
        if key[pos] != key[pos + 1]:
            swapped = key[:pos] + key[pos + 1] + key[pos] + key[pos + 2 :]
            assert tokens.parse(swapped) is None, pos


@pytest.mark.parametrize(
    "mangle",
    [
        lambda k: k + "\n",
        lambda k: " " + k,
        lambda k: k.upper(),
        lambda k: k[:-1],
        lambda k: k + "a",
        lambda k: k.replace("srk_live_", "srk_prod_", 1),
        lambda k: k.replace("srk_live_", "sk_live_", 1),
        lambda k: "",
    ],
)
def test_malformed_variants_are_rejected(mangle: Callable[[str], str]) -> None:
    assert tokens.parse(mangle(KEYS[0])) is None


@given(st.text())
@example("srk_live_")
@example("srk_live_" + "a" * 16 + "_" + "a" * 52 + "_" + "a" * 7)
def test_parse_never_raises_on_text(text: str) -> None:
    result = tokens.parse(text)
    assert result is None or isinstance(result, ParsedKey)


@given(st.from_regex(r"srk_(live|test)_[a-z2-7]{16}_[a-z2-7]{52}_[a-z2-7]{7}", fullmatch=True))
def test_parse_of_near_miss_matches_checksum(text: str) -> None:
    """Format-valid strings parse exactly when their checksum is right."""
    result = tokens.parse(text)
    assert (result is not None) == (text[-7:] == crc_check(text[:-8]))


@given(
    key=st.sampled_from(KEYS),
    pos=st.integers(0, 130),
    junk=st.text(st.characters(categories=["Cs", "Cc", "Zs"]), min_size=1),
)
def test_parse_never_raises_on_surrogates_or_controls(key: str, pos: int, junk: str) -> None:
    assert tokens.parse(junk) is None
    assert tokens.parse(key[:pos] + junk + key[pos:]) is None


@given(st.text(max_size=120))
@example("")
@example("srk_live_aaaaaaaaaaaaaaaa_" + "a" * 52)
def test_the_arithmetic_checksum_is_the_documented_one(body: str) -> None:
    assert tokens._check(body) == crc_check(body)
