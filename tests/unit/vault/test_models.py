"""Paths and merge patches (secrets/models.py)."""

from __future__ import annotations

import pytest

from strongroom.errors import InvalidInput
from strongroom.secrets.models import check_path, merge_patch


@pytest.mark.parametrize(
    "bad", ["", "/a", "a/", "a//b", "a/../b", "a/./b", "..", "a b", "a/*", "a/+", "x" * 513]
)
def test_bad_paths(bad: str) -> None:
    with pytest.raises(InvalidInput):
        check_path(bad)


def test_good_paths() -> None:
    for good in ("a", "apps/billing/stripe", "A.b_c-D/9", "/".join(["s"] * 32)):
        assert check_path(good) == good


def test_merge_patch_follows_rfc_7396_examples() -> None:
    # RFC 7396 section 3's example, and appendix A's cases.
    target: dict[str, object] = {
        "title": "Goodbye!",
        "author": {"givenName": "John", "familyName": "Doe"},
    }
    target |= {"tags": ["example", "sample"], "content": "This will be unchanged"}
    patch: dict[str, object] = {"title": "Hello!", "phoneNumber": "+01-123-456-7890"}
    patch |= {"author": {"familyName": None}, "tags": ["example"]}
    assert merge_patch(target, patch) == {
        "title": "Hello!",
        "author": {"givenName": "John"},
        "tags": ["example"],
        "content": "This will be unchanged",
        "phoneNumber": "+01-123-456-7890",
    }
    assert merge_patch({"a": "b"}, {"a": "c"}) == {"a": "c"}
    assert merge_patch({"a": "b"}, {"b": "c"}) == {"a": "b", "b": "c"}
    assert merge_patch({"a": "b"}, {"a": None}) == {}
    assert merge_patch({"a": ["b"]}, {"a": "c"}) == {"a": "c"}
    assert merge_patch({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}) == {"a": {"b": "d"}}
    assert merge_patch({"a": [{"b": "c"}]}, {"a": [1]}) == {"a": [1]}
    assert merge_patch({"e": None}, {"a": 1}) == {"e": None, "a": 1}
    assert merge_patch([1, 2], {"a": "b", "c": None}) == {"a": "b"}
    assert merge_patch({}, {"a": {"bb": {"ccc": None}}}) == {"a": {"bb": {}}}
