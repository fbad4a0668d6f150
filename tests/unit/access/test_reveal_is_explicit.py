"""``api-keys:reveal`` is granted only by a grant that names it: neither ``*`` nor
``api-keys:*`` confers it (access/rbac.py EXPLICIT_ONLY), while they confer every
other api-keys permission. A wildcard holder may still hand the explicit grant out."""

from __future__ import annotations

from strongroom.access.models import Principal
from strongroom.access.permissions import Permission
from strongroom.access.rbac import Grant, Scope, covers

P = Permission


def test_wildcards_do_not_confer_reveal() -> None:
    for pattern in ("*", "api-keys:*"):
        g = Grant(pattern, Scope.TENANT)
        assert g.matches(P.API_KEYS_USE) and g.matches(P.API_KEYS_WRITE)
        assert not g.matches(P.API_KEYS_REVEAL)
    assert not Grant("*", Scope.ALL).matches(P.API_KEYS_REVEAL)
    assert Grant(str(P.API_KEYS_REVEAL)).matches(P.API_KEYS_REVEAL)


def test_builtin_admins_cannot_reveal_but_an_explicit_grant_can() -> None:
    for role in ("super-admin", "client-admin", "admin"):
        who = Principal("k", "t", (role,))
        assert who.can(P.API_KEYS_USE, "t", resource="billing/stripe")
        assert not who.can(P.API_KEYS_REVEAL, "t", resource="billing/stripe")
    grants = frozenset({Grant(str(P.API_KEYS_REVEAL), Scope.TENANT, "billing/*")})
    who = Principal("k", "t", ("custom",), grants)
    assert who.can(P.API_KEYS_REVEAL, "t", resource="billing/stripe")
    assert not who.can(P.API_KEYS_REVEAL, "t", resource="ops/github")


def test_an_admin_may_still_hand_out_the_explicit_grant() -> None:
    held = [Grant("*", Scope.TENANT)]
    assert covers(held, [Grant(str(P.API_KEYS_REVEAL), Scope.TENANT, "billing/*")])
