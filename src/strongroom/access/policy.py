"""Authentication policy: which credentials a request may and must present, and how
they combine into one principal.

Methods are ``api_key`` (``X-API-Key``), ``bearer`` (an OIDC JWT, access/oidc.py)
and ``mtls`` (a verified client certificate). Configuration lists the methods
accepted, those required on every request, and those required per permission
pattern (``{"keys:decrypt": ["mtls"]}``). A request that presents several (an access
key and a bearer token, or either with a mapped client certificate) acts as all of
them at once (``Combined``): it may do only what each of them allows, in the one
tenant they agree on. With nothing configured, a request with only ``X-API-Key``
authenticates exactly as before.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import NoReturn

from strongroom.access import revocation
from strongroom.access.models import Principal
from strongroom.access.oidc import OidcVerifier
from strongroom.access.permissions import Permission
from strongroom.access.rbac import BUILTIN_ROLES, Grant, covers
from strongroom.access.revocation import RevokedTokens
from strongroom.access.service import AccessService
from strongroom.audit.actions import AuthAction, AuthzAction
from strongroom.audit.interfaces import AuditSink
from strongroom.audit.models import AuditEvent, Outcome
from strongroom.config import AuthSettings
from strongroom.context import Actor
from strongroom.errors import AuthenticationFailed, Forbidden, InvalidInput
from strongroom.store.db import Database

METHODS = ("api_key", "bearer", "mtls")
_MAX_ID = 200  # audit actor column


@dataclass(frozen=True)
class Credentials:
    """What one request presents (gathered by api/deps.py ``credentials``). ``mtls``
    is filled by the mTLS integration with the principal that the verified client
    certificate maps to; None when the connection carried no certificate."""

    api_key: str | None = None
    bearer: str | None = None
    mtls: Principal | None = None
    # The resource a bearer token must be issued for (an edge that is its own OAuth
    # resource: the MCP server); None: the issuers' configured audiences.
    audience: str | None = None

    def presented(self) -> frozenset[str]:
        values = (self.api_key, self.bearer, self.mtls)
        return frozenset(m for m, v in zip(METHODS, values, strict=True) if v is not None)


@dataclass(frozen=True)
class AuthPolicy:
    accepted: frozenset[str] = frozenset(METHODS)
    required: frozenset[str] = frozenset()
    # (permission pattern, methods that must have authenticated the request)
    required_for: tuple[tuple[str, frozenset[str]], ...] = ()

    @classmethod
    def build(
        cls,
        accepted: Iterable[str],
        required: Iterable[str] = (),
        required_for: Mapping[str, Iterable[str]] | None = None,
    ) -> AuthPolicy:
        per = tuple((p, frozenset(ms)) for p, ms in (required_for or {}).items())
        return cls(frozenset(accepted), frozenset(required), per)

    def allows(self, permission: str, methods: frozenset[str]) -> bool:
        return all(
            needed <= methods for p, needed in self.required_for if Grant(p).matches(permission)
        )


@dataclass(frozen=True)
class Combined(Principal):
    """A principal made of the parts a request authenticated as. ``can`` holds only
    when every part can and the methods used meet the permission's requirement;
    ``grants`` (which bound what it may hand out) is the grants each part's others
    cover, never more than any one part holds."""

    parts: tuple[Principal, ...] = ()
    methods: frozenset[str] = frozenset()
    policy: AuthPolicy = field(default_factory=AuthPolicy, compare=False)

    def __post_init__(self) -> None:
        pass  # grants are given, never re-derived from roles

    def can(
        self,
        permission: str,
        tenant: str | None = None,
        owner: str | None = None,
        resource: str | None = None,
        *,
        anywhere: bool = False,
    ) -> bool:
        if not self.policy.allows(permission, self.methods):
            return False
        t = tenant or self.tenant
        return all(p.can(permission, t, owner, resource, anywhere=anywhere) for p in self.parts)


def build_authenticator(
    settings: AuthSettings, db: Database, access: AccessService, audit: AuditSink
) -> Authenticator:
    oidc = None
    if settings.oidc.issuers:
        revoked = RevokedTokens(db, audit, settings.oidc.revocation_refresh_seconds)
        oidc = OidcVerifier(
            settings.oidc.issuers,
            audit,
            revoked,
            timeout=settings.oidc.jwks_timeout_seconds,
            jwks_ttl=settings.oidc.jwks_ttl_seconds,
            jwks_min_refresh=settings.oidc.jwks_min_refresh_seconds,
        )
    policy = AuthPolicy.build(settings.methods, settings.required, settings.required_for)
    return Authenticator(access, oidc, audit, policy)


def combine(parts: list[Principal], methods: frozenset[str], policy: AuthPolicy) -> Combined:
    """Raises ValueError when tenant-bound parts name different tenants."""
    bound = {p.tenant for p in parts if not p.spans_tenants}
    if len(bound) > 1:
        raise ValueError("tenants differ")
    tenant = next(iter(bound)) if bound else parts[0].tenant
    grants = frozenset(
        g for p in parts for g in p.grants if all(covers(q.grants, [g]) for q in parts)
    )
    pid = "+".join(p.id for p in parts)
    if len(pid) > _MAX_ID:
        pid = pid[: _MAX_ID - 41] + "#" + hashlib.sha256(pid.encode()).hexdigest()[:40]
    # Rate-limit role overrides follow the first part (the access key, when there is one).
    # Each part decides on its own objects with its own-key id (Combined.can).
    client_id = next((p.client_id for p in parts if p.client_id), None)  # access log
    return Combined(
        pid,
        tenant,
        parts[0].roles,
        grants,
        client_id=client_id,
        parts=tuple(parts),
        methods=methods,
        policy=policy,
    )


class Authenticator:
    def __init__(
        self,
        access: AccessService,
        oidc: OidcVerifier | None,
        audit: AuditSink,
        policy: AuthPolicy,
    ) -> None:
        self._access, self._oidc, self._audit, self.policy = access, oidc, audit, policy

    @property
    def bearer_enabled(self) -> bool:
        """A bearer token is looked at only when issuers are configured and the method
        is accepted; otherwise ``Authorization`` is left alone, as before."""
        return self._oidc is not None and "bearer" in self.policy.accepted

    async def close(self) -> None:
        if self._oidc is not None:
            await self._oidc.close()

    async def revoke_token(
        self,
        actor: Actor,
        issuer: str,
        jti: str,
        expires_at: datetime | None,
        *,
        spans_tenants: bool = False,
    ) -> bool:
        """Revoke a bearer token of a configured issuer by ``jti`` in the tenant its
        tokens act in (access/revocation.py ``scope``); False if it was. An issuer bound
        to another tenant is answered like an unknown one, and the attempt audited."""
        cfg = self._oidc.issuers.get(issuer) if self._oidc is not None else None
        if self._oidc is None or cfg is None:
            raise InvalidInput("unknown issuer")
        tenant = revocation.scope(cfg, actor.tenant, spans_tenants)
        if tenant is None:
            detail = {"permission": Permission.TOKENS_REVOKE, "reason": "tenant"}
            target = revocation.token_id(issuer, jti)[:16]
            await self._audit.append(
                AuditEvent(actor, AuthzAction.DENIED, Outcome.DENIED, target, detail=detail)
            )
            raise InvalidInput("unknown issuer")
        return await self._oidc.revoked.revoke(actor, issuer, jti, tenant, expires_at)

    async def authenticate(
        self, creds: Credentials, request_id: str, client_addr: str | None
    ) -> Principal:
        methods = creds.presented()
        if not self.bearer_enabled:
            methods -= {"bearer"}
        if not methods:  # the access-key path audits "missing" exactly as it always did
            return await self._access.authenticate(None, request_id, client_addr)
        if methods - self.policy.accepted:
            await self._fail(request_id, client_addr, "method-not-accepted")
        if self.policy.required - methods:
            await self._fail(request_id, client_addr, "method-required")
        parts: list[Principal] = []
        if "api_key" in methods:
            parts.append(await self._access.authenticate(creds.api_key, request_id, client_addr))
        if "bearer" in methods and self._oidc is not None and creds.bearer is not None:
            bearer = await self._oidc.authenticate(
                creds.bearer, request_id, client_addr, creds.audience
            )
            parts.append(await self._with_custom_roles(bearer))
        if "mtls" in methods and creds.mtls is not None:
            parts.append(await self._with_custom_roles(creds.mtls))
        if len(parts) == 1 and not self.policy.required_for:
            return parts[0]
        try:
            return combine(parts, methods, self.policy)
        except ValueError:
            actor = Actor("+".join(p.id for p in parts)[:_MAX_ID], "-", request_id, client_addr)
            detail = {"permission": "tenant", "reason": "credentials-disagree"}
            await self._audit.append(
                AuditEvent(actor, AuthzAction.DENIED, Outcome.DENIED, detail=detail)
            )
            raise Forbidden() from None

    async def _with_custom_roles(self, p: Principal) -> Principal:
        """Token groups and certificate bindings may name the tenant's custom roles
        (access keys resolve theirs in AccessService.authenticate)."""
        if all(r in BUILTIN_ROLES for r in p.roles):
            return p
        extra = await self._access.roles.resolve(p.tenant, p.roles)
        return dataclasses.replace(p, grants=p.grants | extra)

    async def _fail(self, request_id: str, client_addr: str | None, reason: str) -> NoReturn:
        actor = Actor("anonymous", "-", request_id, client_addr)
        event = AuditEvent(actor, AuthAction.POLICY, Outcome.FAILURE, detail={"reason": reason})
        await self._audit.append(event)
        raise AuthenticationFailed()
