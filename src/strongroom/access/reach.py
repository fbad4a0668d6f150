"""Which named resources a principal reaches, for listings filtered item by item.

A listing must never show a name the caller may not act on. ``Reach`` answers per
name with the principal's own ``can`` (so exactly the rules of a single request),
and offers the literal path prefixes its grants start with, so the database can skip
whole subtrees first; the prefixes only narrow, the per-name check decides.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from strongroom.access.models import Principal
from strongroom.access.rbac import Grant, Scope
from strongroom.access.resources import literal_prefix


@dataclass(frozen=True)
class Reach:
    principal: Principal
    tenant: str
    permissions: tuple[str, ...]

    def __call__(self, resource: str) -> bool:
        return all(self.principal.can(p, self.tenant, resource=resource) for p in self.permissions)

    @property
    def prefixes(self) -> tuple[str, ...] | None:
        """Every resource this reaches starts with one of these (None: no narrowing)."""
        first = self.permissions[0]
        out: set[str] = set()
        for g in _usable(_first_grants(self.principal), first, self.principal.tenant, self.tenant):
            if g.resource is None:
                return None
            prefix = literal_prefix(g.resource)
            if prefix is not None:
                out.add(prefix)
        # A prefix inside another adds nothing to the query.
        return tuple(sorted(p for p in out if not any(q != p and p.startswith(q) for q in out)))


def _first_grants(p: Principal) -> frozenset[Grant]:
    """A combined principal (access/policy.py) can only when every part can: the
    first part's grants bound what it reaches."""
    parts: tuple[Principal, ...] = getattr(p, "parts", ())
    return parts[0].grants if parts else p.grants


def _usable(grants: Iterable[Grant], permission: str, home: str, tenant: str) -> Iterable[Grant]:
    for g in grants:
        if not g.matches(permission):
            continue
        if g.scope is Scope.ALL or (g.scope is Scope.TENANT and tenant == home):
            yield g
