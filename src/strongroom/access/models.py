"""Principals: who a request acts as, and what its roles let it do (access/rbac.py)."""

from __future__ import annotations

from dataclasses import dataclass, field

from strongroom.access.rbac import BUILTIN_ROLES, Grant, decide, spans_tenants

__all__ = ["BUILTIN_ROLES", "OWNS_NO_KEY", "Principal"]

OWNS_NO_KEY = ""  # ``own_key`` of a principal with no key of its own (never a userId)


@dataclass(frozen=True)
class Principal:
    id: str  # the subject: access-key id, token subject, or certificate name
    tenant: str  # home tenant
    roles: tuple[str, ...]
    grants: frozenset[Grant] = field(default=frozenset(), compare=False)
    # The userId whose key is its own (``own`` scope: the ``user`` role). None: its id
    # (access keys, certificates); a bearer token's comes from a claim (access/oidc.py),
    # since ``oidc:{iss}#{sub}`` can never be a userId.
    own_key: str | None = None
    # The OAuth client a bearer token was issued to (azp / client_id), for the access log.
    client_id: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if not self.grants:
            resolved = frozenset().union(*(BUILTIN_ROLES.get(r, frozenset()) for r in self.roles))
            object.__setattr__(self, "grants", resolved)

    @property
    def spans_tenants(self) -> bool:
        return spans_tenants(self.grants)

    def can(
        self,
        permission: str,
        tenant: str | None = None,
        owner: str | None = None,
        resource: str | None = None,
        *,
        anywhere: bool = False,
    ) -> bool:
        """May it do ``permission`` in ``tenant`` (default: its own) on an object
        owned by ``owner`` named ``resource`` (``anywhere``: on some resource)?
        Unknown roles grant nothing."""
        own = self.id if self.own_key is None else (self.own_key or None)
        t, home = tenant or self.tenant, self.tenant
        return decide(self.grants, home, own, permission, t, owner, resource, anywhere=anywhere)
