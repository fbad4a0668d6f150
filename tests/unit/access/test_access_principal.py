"""Built-in roles and ``Principal.can``."""

from __future__ import annotations

import pytest

from strongroom.access.models import BUILTIN_ROLES, OWNS_NO_KEY, Principal
from strongroom.access.policy import AuthPolicy, combine

PERMISSIONS = [
    "keys:create",
    "keys:read",
    "keys:read-public",
    "keys:encrypt",
    "keys:decrypt",
    "keys:rotate",
    "keys:delete",
    "keys:admin",
    "audit:read",
    "secrets:read",
    "access_keys:create",
]


def who(*roles: str) -> Principal:
    return Principal("pk_test", "default", roles)


def granted(*roles: str) -> set[str]:
    p = who(*roles)
    return {perm for perm in PERMISSIONS if p.can(perm)}


def test_admin_may_do_everything() -> None:
    assert granted("admin") == set(PERMISSIONS)
    assert who("admin").can("anything:at-all")


def test_encrypt_only() -> None:
    assert granted("encrypt-only") == {"keys:encrypt", "keys:read-public"}
    assert not who("encrypt-only").can("keys:decrypt")


def test_decrypt_only() -> None:
    assert granted("decrypt-only") == {"keys:decrypt"}
    assert not who("decrypt-only").can("keys:encrypt")


def test_key_admin_has_every_key_permission_but_nothing_else() -> None:
    assert granted("key-admin") == {p for p in PERMISSIONS if p.startswith("keys:")}
    assert not who("key-admin").can("audit:read")
    assert not who("key-admin").can("secrets:read")


def test_auditor() -> None:
    assert granted("auditor") == {"keys:read", "audit:read"}


@pytest.mark.parametrize("roles", [(), ("root",), ("Admin",), ("ADMIN",), ("admin ",), ("*",)])
def test_unknown_or_no_role_grants_nothing(roles: tuple[str, ...]) -> None:
    assert granted(*roles) == set()


def test_roles_combine_as_a_union() -> None:
    assert granted("encrypt-only", "decrypt-only") == {
        "keys:encrypt",
        "keys:read-public",
        "keys:decrypt",
    }
    assert granted("bogus", "auditor") == {"keys:read", "audit:read"}


def test_resource_wildcard_does_not_leak_across_resource_prefixes() -> None:
    # "keys:*" is about the "keys" resource only, not resources that start with "keys".
    assert not who("key-admin").can("keysets:read")
    assert not who("key-admin").can("key:read")


def test_builtin_roles_known() -> None:
    assert {"admin", "key-admin", "encrypt-only", "decrypt-only", "auditor"} <= set(BUILTIN_ROLES)


def test_user_role_acts_on_its_own_key_only() -> None:
    key = Principal("k1", "t", ("user",))  # an access key's own key is its id
    assert key.can("keys:decrypt", owner="k1") and not key.can("keys:decrypt", owner="k2")
    assert not key.can("keys:decrypt")  # no owner: not about its own object
    token = Principal("oidc:https://i/#alice", "t", ("user",), own_key="alice")
    assert token.can("keys:encrypt", owner="alice")
    assert not token.can("keys:encrypt", owner="oidc:https://i/#alice")
    assert not token.can("keys:encrypt", "other", owner="alice")  # own tenant only
    nobody = Principal("oidc:https://i/#x|y", "t", ("user",), own_key=OWNS_NO_KEY)
    assert not any(nobody.can("keys:encrypt", owner=o) for o in ("", "x|y", "oidc:https://i/#x|y"))
    # Combined with an access key, each part decides on its own objects.
    both = combine([key, token], frozenset({"api_key", "bearer"}), AuthPolicy())
    assert both.parts == (key, token)
    assert not both.can("keys:encrypt", owner="alice") and not both.can("keys:encrypt", owner="k1")
