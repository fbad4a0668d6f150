"""Built-in roles and ``Principal.can``."""

from __future__ import annotations

import pytest

from strongroom.access.models import BUILTIN_ROLES, Principal

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
