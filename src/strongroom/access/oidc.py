"""OAuth 2.0 / OIDC bearer tokens: a JWT from a configured issuer becomes a Principal.

Checks, in order: the unverified ``iss`` names a configured issuer; ``alg`` is one
that issuer is pinned to (RS256/ES256 only, so ``none``, HS* and confusion with the
public key are refused before any key is touched); ``kid`` names a key of that
issuer's JWKS whose type fits ``alg``; then PyJWT verifies the signature and ``iss``,
``aud`` (or, for Cognito access tokens which carry none, ``token_use=access`` and
an allowlisted ``client_id``), ``exp``, ``nbf`` and ``iat`` with the issuer's
leeway; ``exp - iat`` is bounded; the ``jti`` is not revoked.

The principal is ``oidc:{iss}#{sub}``; its roles come from the issuer's group and
scope maps, its permissions also from ``scope_permissions`` (tenant scope). Its own
key (``own`` scope: the ``user`` role) is the one whose userId is the value of the
issuer's ``own_key_claim`` (default ``sub``), when that value is a valid userId. A token
with none of the mapped groups or scopes authenticates but may do nothing (403).
Every refusal is audited (``auth.bearer``, a reason code) and answered with the same
AUTH001; no message, log line or audit record holds any part of the token.

An edge that is its own OAuth resource (the MCP server, RFC 8707 / RFC 9728) passes
its ``audience``: then ``aud`` must name exactly that resource and the issuer's own
``audiences`` (the REST API's) do not count; Cognito access tokens, which carry no
``aud``, cannot be bound to a resource and are refused there (reason ``audience``).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import httpx
import jwt
from jwt import exceptions as jwt_errors

from strongroom.access.jwks import JwksCache, JwksUnavailable
from strongroom.access.models import BUILTIN_ROLES, OWNS_NO_KEY, Principal
from strongroom.access.rbac import Grant, Scope
from strongroom.access.resources import valid_pattern
from strongroom.access.revocation import RevokedTokens
from strongroom.audit.actions import AuthAction
from strongroom.audit.interfaces import AuditSink
from strongroom.audit.models import AuditEvent, Outcome
from strongroom.config import OidcIssuer
from strongroom.context import Actor
from strongroom.errors import AuthenticationFailed, ServiceUnavailable
from strongroom.store.models.keys import MAX_USER_ID_LENGTH, USER_ID_PATTERN

MAX_TOKEN_CHARS = 16 * 1024
_TENANT = re.compile(r"[A-Za-z0-9._-]{1,64}")
_SUB = re.compile(r"[\x21-\x7e]{1,90}")  # printable, bounded: part of audit ids
_REQUIRED = ["exp", "iat", "iss", "sub"]
_USER_ID = re.compile(USER_ID_PATTERN)

# PyJWT's refusals, most specific first, as audit reason codes. "token-expired" is
# not "expired": a stale token is routine, unlike a stolen expired access key.
_REASONS: tuple[tuple[type[Exception], str], ...] = (
    (jwt_errors.ExpiredSignatureError, "token-expired"),
    (jwt_errors.ImmatureSignatureError, "not-yet-valid"),
    (jwt_errors.InvalidAudienceError, "audience"),
    (jwt_errors.InvalidIssuerError, "issuer"),
    (jwt_errors.MissingRequiredClaimError, "claims"),
    (jwt_errors.InvalidAlgorithmError, "algorithm"),
    (jwt_errors.InvalidSignatureError, "signature"),
)


class _Refused(Exception):
    def __init__(self, reason: str, principal: str = "anonymous", tenant: str = "-") -> None:
        super().__init__(reason)
        self.reason, self.principal, self.tenant = reason, principal, tenant


class OidcVerifier:
    def __init__(
        self,
        issuers: Iterable[OidcIssuer],
        audit: AuditSink,
        revoked: RevokedTokens,
        *,
        timeout: float = 5.0,
        jwks_ttl: float = 3600.0,
        jwks_min_refresh: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.issuers: Mapping[str, OidcIssuer] = {i.issuer: i for i in issuers}
        self._audit, self.revoked = audit, revoked
        # trust_env=False: no proxy or netrc from the environment decides where keys
        # come from; no redirects either.
        self._http = httpx.AsyncClient(timeout=timeout, trust_env=False, follow_redirects=False)
        self.jwks = {
            i.issuer: JwksCache(
                i.jwks_uri, self._http, ttl=jwks_ttl, min_refresh=jwks_min_refresh, clock=clock
            )
            for i in self.issuers.values()
        }

    async def close(self) -> None:
        await self.revoked.close()
        await self._http.aclose()

    async def authenticate(
        self, token: str, request_id: str, client_addr: str | None, audience: str | None = None
    ) -> Principal:
        try:
            return await self._verify(token, audience)
        except (_Refused, JwksUnavailable) as exc:
            refused = exc if isinstance(exc, _Refused) else _Refused("jwks-unavailable")
            actor = Actor(refused.principal, refused.tenant, request_id, client_addr)
            detail = {"reason": refused.reason}
            await self._audit.append(
                AuditEvent(actor, AuthAction.BEARER, Outcome.FAILURE, detail=detail)
            )
        if refused.reason == "jwks-unavailable":
            raise ServiceUnavailable("token issuer keys unavailable")
        raise AuthenticationFailed()

    async def _verify(self, token: str, audience: str | None) -> Principal:
        if len(token) > MAX_TOKEN_CHARS:
            raise _Refused("malformed")
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt_errors.PyJWTError:
            raise _Refused("malformed") from None
        iss = unverified.get("iss")
        cfg = self.issuers.get(iss) if isinstance(iss, str) else None
        if cfg is None:
            raise _Refused("issuer")
        alg, kid = header.get("alg"), header.get("kid")
        if alg not in cfg.algorithms:
            raise _Refused("algorithm")
        if not isinstance(kid, str):
            raise _Refused("kid")
        # Only the issuer's configured JWKS: jku, x5u, jwk and x5c are never read.
        key = await self.jwks[cfg.issuer].key(kid)
        if key is None:
            raise _Refused("unknown-kid")
        if not key.fits(alg):
            raise _Refused("key-type")
        if audience is not None and cfg.cognito:
            raise _Refused("audience")
        claims = _decode(token, key.key, alg, cfg, audience)
        sub = claims["sub"]
        if not isinstance(sub, str) or not _SUB.fullmatch(sub):
            raise _Refused("claims")
        if cfg.cognito and claims.get("token_use") != "access":
            raise _Refused("token-use")
        if cfg.cognito and claims.get("client_id") not in cfg.client_ids:
            raise _Refused("client-id")
        if float(claims["exp"]) - float(claims["iat"]) > cfg.max_lifetime_seconds:
            raise _Refused("lifetime")
        principal_id = f"oidc:{cfg.issuer}#{sub}"
        tenant = _tenant(cfg, claims)
        if tenant is None:
            raise _Refused("tenant", principal_id)
        jti = claims.get("jti")
        # Revocations are per tenant: only one made for the tenant it acts in counts.
        if isinstance(jti, str) and await self.revoked.is_revoked(cfg.issuer, jti, tenant):
            # A verified token its issuer's admin revoked: the security monitor's
            # auth.revoked_credential rule reacts to this reason.
            raise _Refused("revoked", principal_id, tenant)
        roles, grants = _authority(cfg, claims)
        client = claims.get("azp") or claims.get("client_id")
        client_id = client if isinstance(client, str) else None
        return Principal(
            principal_id, tenant, roles, grants, _own_key(cfg, claims), client_id=client_id
        )


def _decode(
    token: str, key: Any, alg: str, cfg: OidcIssuer, audience: str | None = None
) -> dict[str, Any]:
    """``audience``: the one resource the token must name (cognito is refused before)."""
    required = _REQUIRED if cfg.cognito else [*_REQUIRED, "aud"]
    audiences = [audience] if audience is not None else None if cfg.cognito else cfg.audiences
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=[alg],
            issuer=cfg.issuer,
            audience=audiences,
            leeway=cfg.leeway_seconds,
            options={"require": required, "verify_aud": not cfg.cognito},
        )
    except jwt_errors.PyJWTError as exc:
        reason = next((r for t, r in _REASONS if isinstance(exc, t)), "invalid")
        raise _Refused(reason) from None
    return claims


def _tenant(cfg: OidcIssuer, claims: Mapping[str, Any]) -> str | None:
    if cfg.tenant_claim is None:
        return cfg.tenant
    value = claims.get(cfg.tenant_claim)
    return value if isinstance(value, str) and _TENANT.fullmatch(value) else None


def _own_key(cfg: OidcIssuer, claims: Mapping[str, Any]) -> str:
    value = claims.get(cfg.own_key_claim)
    if isinstance(value, str) and len(value) <= MAX_USER_ID_LENGTH and _USER_ID.fullmatch(value):
        return value
    return OWNS_NO_KEY


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return value.split()
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def _authority(
    cfg: OidcIssuer, claims: Mapping[str, Any]
) -> tuple[tuple[str, ...], frozenset[Grant]]:
    """Roles from mapped groups and scopes, grants from those roles plus mapped
    scope permissions (tenant scope). Unmapped groups and scopes give nothing."""
    groups = _strings(claims.get(cfg.groups_claim))
    # "scope" is a space-separated string (RFC 8693); some issuers send "scp" as a list.
    scopes = _strings(claims.get("scope")) + _strings(claims.get("scp"))
    roles = {r for g in groups for r in cfg.group_roles.get(g, ())}
    roles |= {r for s in scopes for r in cfg.scope_roles.get(s, ())}
    perms = {p for s in scopes for p in cfg.scope_permissions.get(s, ())}
    grants = frozenset().union(*(BUILTIN_ROLES.get(r, frozenset()) for r in roles))
    grants |= {g for p in perms if (g := scope_grant(p)) is not None}
    return tuple(sorted(roles)), frozenset(grants)


def scope_grant(spec: str) -> Grant | None:
    """A ``scope_permissions`` entry: ``secrets:read``, or with a resource pattern
    ``secrets:read on apps/billing/*`` (access/resources.py); a malformed pattern
    grants nothing (fail closed)."""
    permission, sep, resource = spec.partition(" on ")
    if not sep:
        return Grant(spec, Scope.TENANT)
    resource = resource.strip()
    return Grant(permission.strip(), Scope.TENANT, resource) if valid_pattern(resource) else None
