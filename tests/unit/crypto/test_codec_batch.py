"""The batch fast paths (``b64url_texts``, ``split_run``, ``open_pairs``) agree with
the one-item parser: they accept exactly what ``parse_text`` accepts and yield the
same fields, and hand anything else back to it."""

from __future__ import annotations

import os

from hypothesis import given, settings
from hypothesis import strategies as st

from strongroom.crypto import codec, envelope
from strongroom.crypto.binding import Binding
from strongroom.crypto.errors import CiphertextError
from strongroom.crypto.suites import SuiteId

PREFIX = "sr"
HEAD = codec.text_prefix(PREFIX, 3)
BINDING = Binding(int(SuiteId.AES256_GCM), "default", "u1", 3, "")


def _sealed(plaintexts: list[bytes]) -> tuple[envelope.DataKey, list[str]]:
    dk = envelope.new_data_key(BINDING, os.urandom(32))
    return dk, codec.b64url_texts(HEAD, dk.seal_batch(plaintexts))


def _slow(text: str) -> tuple[bytes, bytes] | None:
    try:
        version, p = codec.parse_text(PREFIX, text)
    except CiphertextError:
        return None
    return (p.nonce, p.ciphertext) if version == 3 else None


@given(st.lists(st.binary(max_size=300), max_size=40))
def test_b64url_texts_equals_per_item_encoding(payloads: list[bytes]) -> None:
    assert codec.b64url_texts(HEAD, payloads) == [HEAD + codec.b64url(p) for p in payloads]


@given(st.lists(st.binary(max_size=80), min_size=1, max_size=20))
def test_split_run_equals_slow_parser_on_valid_batches(plaintexts: list[bytes]) -> None:
    dk, texts = _sealed(plaintexts)
    pairs, stop = codec.split_run(HEAD, dk.prefix, texts, 0)
    assert stop == len(texts)
    assert pairs == [_slow(t) for t in texts]
    assert dk.open_pairs(pairs) == plaintexts


@settings(max_examples=300)
@given(st.data())
def test_split_run_takes_a_mutated_item_only_if_the_slow_parser_agrees(data: st.DataObject) -> None:
    dk, texts = _sealed([b"a" * 20, b"b" * 21, b"c" * 22])
    target = data.draw(st.integers(0, 2))
    text = texts[target]
    pos = data.draw(st.integers(0, len(text)))
    edit = data.draw(st.sampled_from(["replace", "insert", "delete"]))
    char = data.draw(st.characters())
    if edit == "replace" and pos < len(text):
        text = text[:pos] + char + text[pos + 1 :]
    elif edit == "insert":
        text = text[:pos] + char + text[pos:]
    elif pos < len(text):
        text = text[:pos] + text[pos + 1 :]
    texts[target] = text
    pairs, stop = codec.split_run(HEAD, dk.prefix, texts, 0)
    assert stop >= target  # the untouched items before it are always taken
    if stop > target:  # taken by the fast path: exactly what the slow parser reads
        assert pairs[target] == _slow(text)


def test_split_run_stops_at_another_data_key_or_version() -> None:
    dk, texts = _sealed([b"x", b"y"])
    _, others = _sealed([b"z"])
    older = codec.text_prefix(PREFIX, 2) + texts[1][len(HEAD) :]
    batch = [texts[0], others[0], texts[1], older]
    assert codec.split_run(HEAD, dk.prefix, batch, 0)[1] == 1
    assert codec.split_run(HEAD, dk.prefix, batch, 2)[1] == 3


def test_split_run_rejects_non_canonical_base64() -> None:
    dk, texts = _sealed([b"x" * 3])  # payload 95 + 3 + 16 bytes: 2 spare bits at the end
    body = texts[0][len(HEAD) :]
    assert len(body) % 4 == 3
    tweaked = body[:-1] + codec._ALPHABET.decode()[codec._ALPHABET.find(body[-1].encode()) ^ 1]
    for bad in (tweaked, body + "=", body.replace("-", "+"), body + "\n", body[:-1] + "é"):
        if bad == body:
            continue
        assert codec.split_run(HEAD, dk.prefix, [HEAD + bad], 0) == ([], 0)
        assert _slow(HEAD + bad) is None


def test_open_pairs_reports_the_position_of_a_forged_item() -> None:
    dk, texts = _sealed([b"1", b"2", b"3", b"4"])
    pairs, _ = codec.split_run(HEAD, dk.prefix, texts, 0)
    nonce, ct = pairs[2]
    pairs[2] = (nonce, ct[:-1] + bytes([ct[-1] ^ 1]))
    try:
        dk.open_pairs(pairs)
    except CiphertextError as exc:
        assert (exc.reason, exc.position) == ("tag", 2)
    else:
        raise AssertionError("forged item opened")
