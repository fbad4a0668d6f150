"""``find_ciphertexts`` / ``replace_at``: how rotate finds and replaces ciphertexts."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from strongroom.keys.rotation import find_ciphertexts, replace_at

CT1 = "sr:v1:AQBQ"
CT2 = "sr:v2:abc-_"
CT3 = "sr:v4294967295:x"


def test_finds_top_level_strings_with_their_index() -> None:
    data = [CT1, "plain", CT2, 7, None]
    assert find_ciphertexts("sr", data) == [((0, ()), CT1), ((2, ()), CT2)]


def test_finds_nested_strings_in_document_order() -> None:
    data: list[Any] = [
        {"name": "Ann", "ssn": CT1, "addr": {"street": CT2, "tags": ["x", CT3, {"k": CT1}]}},
        [["plain", CT2]],
        "plain",
    ]
    assert find_ciphertexts("sr", data) == [
        ((0, ("ssn",)), CT1),
        ((0, ("addr", "street")), CT2),
        ((0, ("addr", "tags", 1)), CT3),
        ((0, ("addr", "tags", 2, "k")), CT1),
        ((1, (0, 1)), CT2),
    ]


@pytest.mark.parametrize(
    "value",
    [
        "plain text",
        "",
        "sr",
        "sr:",
        "sr:v",
        "sr:v0:abc",  # versions start at 1
        "sr:v01:abc",  # no leading zeros
        "sr:x1:abc",
        "sr:V1:abc",
        "SR:v1:abc",
        "xsr:v1:abc",
        " sr:v1:abc",
        "sr :v1:abc",
        "ab:v1:abc",  # another prefix
        "sr:-1:abc",
        "sr:v4294967296:abc",  # beyond 2^32-1
        "sr:v\u0661:abc",  # non-ASCII digit
    ],
)
def test_ignores_strings_that_are_not_ciphertexts(value: str) -> None:
    assert find_ciphertexts("sr", [value, {"f": value}, [value]]) == []


@pytest.mark.parametrize("value", ["sr:v2 released", "sr:v1", "sr:v1x:abc", "sr:v3-draft"])
def test_ignores_text_without_the_full_ciphertext_header(value: str) -> None:
    """Only ``{prefix}:v{n}:`` starts a ciphertext (docs: ``sr:v{version}:{payload}``).

    Free text such as a note "sr:v2 released" inside a rotated object is not a
    Strongroom ciphertext and must pass through; treating it as one makes
    POST /api/v1/rotate fail the whole batch with ENC001.
    """
    assert find_ciphertexts("sr", [value, {"note": value}]) == []


def test_ignores_non_strings_and_dict_keys() -> None:
    data: list[Any] = [1, 2.5, True, None, [], {}, {CT1: "plain"}, {"n": [1, None, False]}]
    assert find_ciphertexts("sr", data) == []


def test_prefix_is_configurable() -> None:
    data = ["ab:v3:xyz", CT1]
    assert find_ciphertexts("ab", data) == [((0, ()), "ab:v3:xyz")]
    assert find_ciphertexts("sr", data) == [((1, ()), CT1)]


def test_replace_at_substitutes_only_the_given_paths() -> None:
    data: list[Any] = [CT1, {"a": CT2, "b": [CT3, 5]}, "keep"]
    out = replace_at(data, {(0, ()): "N0", (1, ("b", 0)): "N1"})
    assert out == ["N0", {"a": CT2, "b": ["N1", 5]}, "keep"]


def test_replace_at_ignores_paths_that_do_not_exist() -> None:
    data: list[Any] = [{"a": "x"}]
    assert replace_at(data, {(0, ("b",)): "N", (5, ()): "N"}) == data


# -- properties over JSON-like values ------------------------------------------

ciphertexts = st.builds(
    lambda v, p: f"sr:v{v}:{p}",
    st.integers(1, 2**32 - 1),
    st.text("ABCDEFabcdef0123456789-_", max_size=12),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=10),
    ciphertexts,
)
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.one_of(st.text(max_size=5), ciphertexts), children, max_size=4),
    ),
    max_leaves=25,
)
batches = st.lists(json_values, max_size=5)


def is_ct(value: str) -> bool:
    """Reference model of the documented header ``sr:v{1..2^32-1}:``."""
    head, sep1, rest = value.partition(":")
    field, sep2, _ = rest.partition(":")
    digits = field[1:]
    return (
        head == "sr"
        and bool(sep1 and sep2)
        and field.startswith("v")
        and digits.isascii()
        and digits.isdigit()
        and not digits.startswith("0")
        and int(digits) <= 2**32 - 1
    )


def mark(value: Any) -> Any:
    """Reference model: every ciphertext string value wrapped as <...>."""
    if isinstance(value, str):
        return f"<{value}>" if is_ct(value) else value
    if isinstance(value, dict):
        return {k: mark(v) for k, v in value.items()}
    if isinstance(value, list):
        return [mark(v) for v in value]
    return value


@given(batches)
def test_replace_at_without_replacements_is_identity(data: list[Any]) -> None:
    snapshot = copy.deepcopy(data)
    out = replace_at(data, {})
    assert out == snapshot
    assert data == snapshot


@given(batches)
def test_replacing_every_found_path_changes_only_those_strings(data: list[Any]) -> None:
    snapshot = copy.deepcopy(data)
    found = find_ciphertexts("sr", data)
    out = replace_at(data, {path: f"<{value}>" for path, value in found})
    assert out == [mark(item) for item in snapshot]
    assert find_ciphertexts("sr", out) == []
    assert data == snapshot  # input not mutated


@given(batches)
def test_found_values_are_the_values_at_their_paths(data: list[Any]) -> None:
    for (index, path), value in find_ciphertexts("sr", data):
        node = data[index]
        for step in path:
            node = node[step]
        assert node == value
        assert isinstance(value, str) and is_ct(value)


@given(batches)
def test_count_matches_reference_model(data: list[Any]) -> None:
    def count(value: Any) -> int:
        if isinstance(value, str):
            return int(is_ct(value))
        if isinstance(value, dict):
            return sum(count(v) for v in value.values())
        if isinstance(value, list):
            return sum(count(v) for v in value)
        return 0

    assert len(find_ciphertexts("sr", data)) == sum(count(item) for item in data)
