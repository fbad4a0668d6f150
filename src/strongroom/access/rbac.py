"""Roles, permissions and scopes.

A permission is ``resource:action`` (``keys:encrypt``; all of them in
access/permissions.py); a grant gives a permission pattern (``keys:encrypt``,
``keys:*`` or ``*``) at a scope:

* ``all``    — in every tenant (super admin only among the built-ins);
* ``tenant`` — in the principal's own tenant;
* ``own``    — only on the principal's own objects (a user's own key: the key's
  userId equals the principal's own-key id — an access key's or certificate's
  principal id, a bearer token's mapped claim: access/models.py), in its own tenant.

A request acts in one tenant: the principal's own, or for principals granted at
``all`` scope the one named by ``X-Tenant-Id`` (default tenant when absent). A
principal never reaches another tenant's objects; callers answer such a request
like a missing object (404), so a miss and a forbidden look the same.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from strongroom.access.permissions import Permission


class Scope(StrEnum):
    ALL = "all"
    TENANT = "tenant"
    OWN = "own"


@dataclass(frozen=True)
class Grant:
    pattern: str  # "resource:action", "resource:*" or "*"
    scope: Scope = Scope.TENANT

    def matches(self, permission: str) -> bool:
        if self.pattern in ("*", permission):
            return True
        resource, _, action = self.pattern.partition(":")
        return action == "*" and permission.startswith(resource + ":")


def _grants(scope: Scope, *patterns: str) -> frozenset[Grant]:
    # Plain strings: a grant's pattern is data (stored, listed, sorted), like a custom role's.
    return frozenset(Grant(str(p), scope) for p in patterns)


P, T, OWN = Permission, Scope.TENANT, Scope.OWN
# The admin roles hold the access-key permissions through "*" (super, client, admin)
# or "access-keys:*" (integration admin); company admin only reads.
BUILTIN_ROLES: Mapping[str, frozenset[Grant]] = {
    # seeds/002: super admin, client admin, company admin, integration admin, user
    "super-admin": _grants(Scope.ALL, "*"),
    "client-admin": _grants(T, "*"),
    "company-admin": _grants(T, "keys:*", P.ACCESS_KEYS_READ, P.AUDIT_READ),
    "integration-admin": _grants(
        T,
        "access-keys:*",
        P.KEYS_CREATE,
        P.KEYS_READ,
        P.KEYS_READ_PUBLIC,
        P.KEYS_ENCRYPT,
        P.KEYS_BLIND_INDEX,
    ),
    "user": _grants(
        OWN, P.KEYS_READ, P.KEYS_READ_PUBLIC, P.KEYS_ENCRYPT, P.KEYS_DECRYPT, P.KEYS_BLIND_INDEX
    ),
    # narrow service roles
    "admin": _grants(T, "*"),  # the bootstrap admin of its tenant
    "key-admin": _grants(T, "keys:*"),
    # Writers and readers of encrypted fields both search them (blind index).
    "encrypt-only": _grants(T, P.KEYS_ENCRYPT, P.KEYS_READ_PUBLIC, P.KEYS_BLIND_INDEX),
    "decrypt-only": _grants(T, P.KEYS_DECRYPT, P.KEYS_BLIND_INDEX),
    "auditor": _grants(T, P.KEYS_READ, P.AUDIT_READ, P.METRICS_READ),
}


@dataclass(frozen=True)
class Decision:
    allowed: bool
    tenant: str  # the tenant the request acts in


def spans_tenants(grants: Iterable[Grant]) -> bool:
    return any(g.scope is Scope.ALL for g in grants)


def decide(
    grants: Iterable[Grant],
    home_tenant: str,
    subject: str | None,
    permission: str,
    tenant: str,
    owner: str | None = None,
) -> bool:
    """May a principal (home tenant, own-key id ``subject``; None: it owns no key) do
    ``permission`` on an object of ``tenant`` owned by ``owner`` (None: not about one
    owned object)?"""
    for g in grants:
        if not g.matches(permission):
            continue
        if g.scope is Scope.ALL:
            return True
        if tenant != home_tenant:
            continue
        if g.scope is Scope.TENANT or (subject is not None and owner == subject):
            return True
    return False


_SCOPE_RANK = {Scope.OWN: 0, Scope.TENANT: 1, Scope.ALL: 2}


def _covers_one(held: Grant, wanted: Grant) -> bool:
    if _SCOPE_RANK[held.scope] < _SCOPE_RANK[wanted.scope]:
        return False
    if held.pattern in ("*", wanted.pattern):
        return True
    resource, _, action = held.pattern.partition(":")
    # "keys:*" covers "keys:encrypt" and "keys:*", never "*" or another resource.
    return action == "*" and wanted.pattern.startswith(resource + ":")


def covers(held: Iterable[Grant], wanted: Iterable[Grant]) -> bool:
    """Does ``held`` include every grant of ``wanted`` at the same or a wider scope?
    A principal may hand out (create, rotate, revoke) only access keys whose roles it
    covers, so no one can mint or take over a key more powerful than itself."""
    held = tuple(held)
    return all(any(_covers_one(h, w) for h in held) for w in wanted)
