"""Pure rules of the access-key lifecycle: who may hand out which roles
(``rbac.covers``), why a presented key is refused, and a key's state."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from strongroom.access.models import BUILTIN_ROLES
from strongroom.access.rbac import Grant, Scope, covers
from strongroom.access.service import _reject_reason
from strongroom.access.views import AccessKeyState, AccessKeyView, state_of
from strongroom.store.models import AccessKey

NOW = datetime.now(UTC)
CURRENT, PREVIOUS, OTHER = b"c" * 32, b"p" * 32, b"x" * 32


def grants(*roles: str) -> frozenset[Grant]:
    return frozenset().union(*(BUILTIN_ROLES[r] for r in roles))


# holder role -> roles it may hand out (an explicit table, not derived from the code)
MAY_GRANT: dict[str, set[str]] = {
    "super-admin": set(BUILTIN_ROLES),
    "client-admin": set(BUILTIN_ROLES) - {"super-admin"},
    "admin": set(BUILTIN_ROLES) - {"super-admin"},
    "company-admin": {"company-admin", "key-admin", "encrypt-only", "decrypt-only", "user"},
    "integration-admin": {"integration-admin", "encrypt-only"},
    "key-admin": {"key-admin", "encrypt-only", "decrypt-only", "user"},
    "encrypt-only": {"encrypt-only"},
    "decrypt-only": {"decrypt-only"},
    "auditor": {"auditor", "cert-reader"},
    "user": {"user"},
    "cert-admin": {"cert-admin", "cert-operator", "cert-reader"},
    "cert-operator": {"cert-operator", "cert-reader"},
    "cert-reader": {"cert-reader"},
}


@pytest.mark.parametrize("holder", sorted(MAY_GRANT))
def test_covers_table(holder: str) -> None:
    allowed = {r for r in BUILTIN_ROLES if covers(grants(holder), grants(r))}
    assert allowed == MAY_GRANT[holder]


def test_scope_must_be_as_wide() -> None:
    tenant_all = {Grant("*", Scope.TENANT)}
    assert not covers(tenant_all, {Grant("keys:read", Scope.ALL)})
    assert covers(tenant_all, {Grant("keys:read", Scope.OWN)})
    assert not covers({Grant("keys:read", Scope.OWN)}, {Grant("keys:read", Scope.TENANT)})


def test_resource_wildcards() -> None:
    keys_all = {Grant("keys:*")}
    assert covers(keys_all, {Grant("keys:decrypt"), Grant("keys:*")})
    assert not covers(keys_all, {Grant("*")})
    assert not covers(keys_all, {Grant("keysets:read")})
    assert not covers({Grant("keys:read")}, {Grant("keys:*")})
    assert covers(set(), set())  # a role with no grants (none built in) needs nothing


def row(**kw: object) -> AccessKey:
    values: dict[str, object] = {
        "id": "a" * 16,
        "tenant_id": "default",
        "roles": ["admin"],
        "description": "",
        "secret_hash": CURRENT,
        "created_at": NOW - timedelta(days=1),
        "expires_at": None,
        "revoked_at": None,
        "previous_secret_hash": None,
        "previous_valid_until": None,
        **kw,
    }
    return AccessKey(**values)


def test_reject_reasons() -> None:
    in_grace = {"previous_secret_hash": PREVIOUS, "previous_valid_until": NOW + timedelta(hours=1)}
    past = {"previous_secret_hash": PREVIOUS, "previous_valid_until": NOW - timedelta(seconds=1)}
    assert _reject_reason(None, CURRENT) == "unknown"
    assert _reject_reason(row(), CURRENT) is None
    assert _reject_reason(row(), OTHER) == "mismatch"
    assert _reject_reason(row(), PREVIOUS) == "mismatch"  # no rotation yet
    assert _reject_reason(row(**in_grace), PREVIOUS) is None
    assert _reject_reason(row(**in_grace), CURRENT) is None
    assert _reject_reason(row(**past), PREVIOUS) == "past-grace"
    assert _reject_reason(row(**past), CURRENT) is None
    assert _reject_reason(row(**past), OTHER) == "mismatch"
    revoked = row(revoked_at=NOW, **in_grace)
    assert _reject_reason(revoked, CURRENT) == _reject_reason(revoked, PREVIOUS) == "revoked"
    assert _reject_reason(revoked, OTHER) == "mismatch"  # only a holder learns it is revoked
    expired = row(expires_at=NOW - timedelta(seconds=1), **in_grace)
    assert _reject_reason(expired, CURRENT) == _reject_reason(expired, PREVIOUS) == "expired"


def test_state_and_view() -> None:
    assert state_of(row(), NOW) is AccessKeyState.ACTIVE
    assert state_of(row(expires_at=NOW + timedelta(days=1)), NOW) is AccessKeyState.ACTIVE
    assert state_of(row(expires_at=NOW), NOW) is AccessKeyState.EXPIRED
    assert state_of(row(revoked_at=NOW, expires_at=NOW), NOW) is AccessKeyState.REVOKED
    later = NOW + timedelta(minutes=1)
    view = AccessKeyView.of(
        row(last_used_at=NOW, last_used_addr="192.0.2.1"), NOW, pending=(later, "192.0.2.2")
    )
    assert (view.last_used_at, view.last_used_addr) == (later, "192.0.2.2")
    older = AccessKeyView.of(row(last_used_at=later, last_used_addr="a"), NOW, (NOW, "b"))
    assert older.last_used_addr == "a"
    assert "secret" not in " ".join(vars(view))  # the view has no secret or hash field
    ended = AccessKeyView.of(row(previous_valid_until=NOW - timedelta(seconds=1)), NOW)
    assert ended.previous_valid_until is None
