"""Roles, permissions and scopes.

A permission is ``resource:action`` (``keys:encrypt``; all of them in
access/permissions.py); a grant gives a permission pattern (``keys:encrypt``,
``keys:*`` or ``*``) at a scope:

* ``all``    — in every tenant (super admin only among the built-ins);
* ``tenant`` — in the principal's own tenant;
* ``own``    — only on the principal's own objects (a user's own key: the key's
  userId equals the principal's own-key id — an access key's or certificate's
  principal id, a bearer token's mapped claim: access/models.py), in its own tenant.

A grant may also carry a ``resource`` pattern (access/resources.py): ``secrets:read``
on ``apps/billing/*`` reaches only the secrets under that path. Such a grant counts
only for checks about one resource that it matches; a grant without one reaches
every resource of its permission. Grants are written ``pattern@scope`` or
``pattern@scope on resource`` in audit details (``Grant.__str__``).

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
from strongroom.access.resources import matches as resource_matches
from strongroom.access.resources import pattern_covers

# Permissions a wildcard (``*``, ``api-keys:*``) never grants: only a grant that names
# them. Revealing a stored key's value hands out the one thing the broker exists to
# keep from callers, so an admin role holds it only when someone chose to give it.
EXPLICIT_ONLY: frozenset[str] = frozenset({Permission.API_KEYS_REVEAL})


class Scope(StrEnum):
    ALL = "all"
    TENANT = "tenant"
    OWN = "own"


@dataclass(frozen=True)
class Grant:
    pattern: str  # "resource:action", "resource:*" or "*"
    scope: Scope = Scope.TENANT
    resource: str | None = None  # a resource pattern (access/resources.py); None: any

    def matches(self, permission: str) -> bool:
        """Does it grant ``permission`` (on some resource, if it names one)?"""
        if self.pattern == permission:
            return True
        if permission in EXPLICIT_ONLY:
            return False
        if self.pattern == "*":
            return True
        resource, _, action = self.pattern.partition(":")
        return action == "*" and permission.startswith(resource + ":")

    def reaches(self, resource: str | None) -> bool:
        """Does it reach ``resource`` (None: a check about no one resource)?"""
        if self.resource is None:
            return True
        return resource is not None and resource_matches(self.resource, resource)

    def __str__(self) -> str:
        on = f" on {self.resource}" if self.resource is not None else ""
        return f"{self.pattern}@{self.scope.value}{on}"


def _grants(scope: Scope, *patterns: str) -> frozenset[Grant]:
    # Plain strings: a grant's pattern is data (stored, listed, sorted), like a custom role's.
    return frozenset(Grant(str(p), scope) for p in patterns)


P, T, OWN = Permission, Scope.TENANT, Scope.OWN
_SECRETS_RW = (P.SECRETS_READ, P.SECRETS_LIST, P.SECRETS_WRITE)
# The admin roles hold the access-key permissions through "*" (super, client, admin)
# or "access-keys:*" (integration admin); company admin only reads.
BUILTIN_ROLES: Mapping[str, frozenset[Grant]] = {
    # seeds/002: super admin, client admin, company admin, integration admin, user
    "super-admin": _grants(Scope.ALL, "*"),
    "client-admin": _grants(T, "*"),
    "company-admin": _grants(
        T, "keys:*", P.ACCESS_KEYS_READ, P.AUDIT_READ, *_SECRETS_RW, P.SECRETS_DELETE
    ),
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
    "auditor": _grants(T, P.KEYS_READ, P.AUDIT_READ, P.METRICS_READ, P.CERTIFICATES_READ),
    # certificates (pki/): only cert-admin may export private keys or run the CA
    "cert-admin": _grants(T, "certificates:*"),
    "cert-operator": _grants(
        T, P.CERTIFICATES_READ, P.CERTIFICATES_IMPORT, P.CERTIFICATES_ISSUE, P.CERTIFICATES_REVOKE
    ),
    "cert-reader": _grants(T, P.CERTIFICATES_READ),
    # MCP (approvals/): an agent asks, sees and revokes its own; an approver decides
    # (never its own request: the service refuses self-approval whatever the grants)
    # and reads the policy it decides under; admins ("*") write the policy.
    "mcp-agent": _grants(T, P.MCP_REQUESTS_CREATE, P.MCP_TOOLS_READ)
    | _grants(OWN, P.MCP_REQUESTS_READ, P.MCP_SESSIONS_REVOKE),
    "mcp-approver": _grants(
        T,
        P.MCP_REQUESTS_READ,
        P.MCP_REQUESTS_APPROVE,
        P.MCP_TOOLS_READ,
        P.MCP_SESSIONS_REVOKE,
        P.MCP_POLICY_READ,
    ),
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
    resource: str | None = None,
    *,
    anywhere: bool = False,
) -> bool:
    """May a principal (home tenant, own-key id ``subject``; None: it owns no key) do
    ``permission`` on an object of ``tenant`` owned by ``owner`` (None: not about one
    owned object) named ``resource`` (None: not about one named resource)?
    ``anywhere``: on at least one resource (a listing, filtered item by item after)."""
    for g in grants:
        if not g.matches(permission) or not (anywhere or g.reaches(resource)):
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
    if held.resource is not None and (
        wanted.resource is None or not pattern_covers(held.resource, wanted.resource)
    ):
        return False  # "on apps/*" never covers "on apps" nor a grant on every path
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
