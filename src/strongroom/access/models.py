"""Principals and the built-in roles."""

from __future__ import annotations

from dataclasses import dataclass

# Built-in roles -> permissions ("resource:action"; "*" = everything).
BUILTIN_ROLES: dict[str, frozenset[str]] = {
    "admin": frozenset({"*"}),
    "key-admin": frozenset({"keys:*"}),
    "encrypt-only": frozenset({"keys:encrypt", "keys:read-public"}),
    "decrypt-only": frozenset({"keys:decrypt"}),
    "auditor": frozenset({"keys:read", "audit:read", "metrics:read"}),
}


@dataclass(frozen=True)
class Principal:
    id: str
    tenant: str
    roles: tuple[str, ...]

    def can(self, permission: str) -> bool:
        resource = permission.split(":", 1)[0]
        for role in self.roles:
            granted = BUILTIN_ROLES.get(role, frozenset())
            if "*" in granted or f"{resource}:*" in granted or permission in granted:
                return True
        return False
