"""Grants with a resource pattern (access/resources.py, access/rbac.py): what they
reach, and that ``covers`` never lets a holder hand out more than it reaches."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from strongroom.access.models import Principal
from strongroom.access.rbac import Grant, Scope, covers
from strongroom.access.resources import literal_prefix, matches, pattern_covers, valid_pattern

T = Scope.TENANT


def test_pattern_syntax() -> None:
    for good in ("*", "apps", "apps/billing/*", "apps/+/stripe", "+", "a.b_c-d/*"):
        assert valid_pattern(good), good
    for bad in ("", "apps/", "/apps", "apps//x", "apps/bill*", "apps/*/x", "../x", "a/./b"):
        assert not valid_pattern(bad), bad


def test_matching() -> None:
    assert matches("apps/billing/*", "apps/billing/stripe")
    assert matches("apps/billing/*", "apps/billing/eu/adyen")
    assert not matches("apps/billing/*", "apps/billing")
    assert not matches("apps/billing/*", "apps/billingx/y")
    assert matches("apps/billing", "apps/billing")
    assert not matches("apps/billing", "apps/billing/x")
    assert matches("apps/+/stripe", "apps/billing/stripe")
    assert not matches("apps/+/stripe", "apps/billing/eu/stripe")
    assert matches("*", "anything/at/all")


def test_principal_checks_the_resource() -> None:
    p = Principal("svc", "t1", ("custom",), frozenset({Grant("secrets:read", T, "apps/billing/*")}))
    assert p.can("secrets:read", "t1", resource="apps/billing/stripe")
    assert not p.can("secrets:read", "t1", resource="apps/shop/stripe")
    assert not p.can("secrets:read", "t1")  # a check about no one resource
    assert p.can("secrets:read", "t1", anywhere=True)
    assert not p.can("secrets:write", "t1", resource="apps/billing/stripe")
    assert not p.can("secrets:read", "t2", resource="apps/billing/stripe")  # other tenant


def test_covers_with_resources() -> None:
    def on(r: str) -> set[Grant]:
        return {Grant("secrets:read", T, r)}

    assert covers({Grant("secrets:*", T)}, on("apps/*"))
    assert covers(on("apps/*"), on("apps/billing/*"))
    assert covers(on("apps/*"), on("apps/billing"))
    assert not covers(on("apps/*"), on("apps"))
    assert not covers(on("apps/billing/*"), {Grant("secrets:read", T)})  # everywhere
    assert not covers(on("apps/billing/*"), on("apps/*"))
    assert covers(on("apps/+/x"), on("apps/billing/x"))
    assert not covers(on("apps/billing/x"), on("apps/+/x"))
    assert not covers(on("apps/*"), {Grant("secrets:write", T, "apps/x")})


def test_literal_prefix() -> None:
    assert literal_prefix("apps/billing/*") == "apps/billing/"
    assert literal_prefix("apps/+/x") == "apps/"
    assert literal_prefix("apps/x") == "apps/x"
    assert literal_prefix("*") == ""


SEGS = st.sampled_from(["a", "b", "c"])
PATTERNS = st.builds(
    lambda head, rest: "/".join([*head, *(["*"] if rest else [])]) or "*",
    st.lists(st.one_of(SEGS, st.just("+")), max_size=3),
    st.booleans(),
)
# Every concrete path up to 4 segments over the alphabet: a brute-force universe.
UNIVERSE = ["/".join(p) for n in range(1, 5) for p in itertools.product("abc", repeat=n)]


@settings(max_examples=300, deadline=None)
@given(PATTERNS, PATTERNS)
def test_pattern_covers_agrees_with_brute_force(held: str, wanted: str) -> None:
    """Within paths of at most 4 segments (patterns have at most 3 + a final *),
    ``pattern_covers`` is exactly set inclusion of the matched paths."""
    wanted_set = {p for p in UNIVERSE if matches(wanted, p)}
    held_set = {p for p in UNIVERSE if matches(held, p)}
    assert pattern_covers(held, wanted) == (wanted_set <= held_set)
    for p in wanted_set:
        assert p.startswith(literal_prefix(wanted) or "")


def test_oidc_scope_permissions_may_name_a_resource() -> None:
    from strongroom.access.oidc import scope_grant

    assert scope_grant("keys:encrypt") == Grant("keys:encrypt", T)
    assert scope_grant("secrets:read on apps/billing/*") == Grant(
        "secrets:read", T, "apps/billing/*"
    )
    assert scope_grant("secrets:read on apps/bill*") is None  # malformed: nothing
