"""The guard every transport calls: authenticate → tenant → authorize → audit → limits.

HTTP (api/deps.py), the CLI and the MCP server gather what a caller presents into a
``Presented`` and ask the guard; nothing about credentials, tenants, permissions,
budgets or the denial records lives in a transport. Two steps, so that an edge can
parse a request body between them and a caller that does not authenticate learns
nothing about its body:

1. ``authenticate`` — the address's failed-request budget, the credentials (access
   key, bearer token, client certificate, combined by policy: access/policy.py), the
   principal's request budget, the tenant the request acts in (its own, or the one a
   principal spanning tenants names), and the database scope for that tenant (store/
   tenancy.py). Gives the ``RequestContext``.
2. ``authorize`` — a client certificate where configuration requires one, the
   permission on the object's owner, then the item and distinct-user budgets of a data
   request. A refusal is audited before it is raised.

``record_read`` and ``record_rejected`` write the records that every authenticated
request leaves when its service writes none (docs/audit-format.md "What is recorded").
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol

from cryptography import x509

from strongroom.access.lifecycle import SYSTEM
from strongroom.access.limits import Quota, RateLimits
from strongroom.access.models import Principal
from strongroom.access.mtls import ClientCertificates
from strongroom.access.permissions import Permission
from strongroom.access.policy import Authenticator, Credentials
from strongroom.access.reach import Reach
from strongroom.audit.actions import ApiAction, AuthAction, AuthzAction
from strongroom.audit.interfaces import AuditSink
from strongroom.audit.models import AuditEvent, Outcome
from strongroom.audit.release import release_gate, settled
from strongroom.config import DEFAULT_TENANT
from strongroom.context import Actor
from strongroom.errors import AuthenticationFailed, Forbidden, InvalidInput, NotFound, RateLimited
from strongroom.store.tenancy import (
    ALL,
    enter_system_scope,
    isolated_scope,
    set_tenant,
    system_scope,
)

# The identifier kind of a named resource in a denial's target (audit/redact.py KINDS):
# today's only named resources are vault paths.
RESOURCE_KIND = "secretPath"
DECRYPT = Permission.KEYS_DECRYPT  # also draws on the distinct-users budget
_TENANT = re.compile(r"[A-Za-z0-9._-]{1,64}")


@contextmanager
def request_boundary() -> Iterator[list[asyncio.Future[None]]]:
    """One request's boundary, for every transport: the tenant scope the guard chooses
    ends with it (an in-process client runs a request in the caller's own task), and
    the audit records its response must wait for are collected here (audit/release.py);
    the transport sends the response once ``records_settled`` says they are durable."""
    with isolated_scope(), release_gate() as held:
        yield held


records_settled = settled


@dataclass(frozen=True, slots=True)
class Certificate:
    """A client certificate as a transport saw it: the chain verified at the TLS
    handshake (PEM, leaf first), or a TLS-terminating proxy's forwarded header with the
    socket peer it came from (counted only from a configured proxy, verified again)."""

    chain: tuple[str, ...] = ()
    forwarded: str | None = None
    socket_peer: str | None = None


@dataclass(frozen=True, slots=True)
class Presented:
    """What one request presents, whatever its transport."""

    request_id: str
    client_addr: str | None
    api_key: str | None = None
    bearer: str | None = None
    tenant: str | None = None  # the tenant named by the caller (X-Tenant-Id)
    certificate: Certificate | None = None
    # The resource a bearer token must name in ``aud`` (RFC 8707): the MCP server's
    # URL at its edge; None elsewhere (the issuers' configured audiences).
    audience: str | None = None


@dataclass(frozen=True, slots=True)
class RequestContext:
    """Who acts and in which tenant (``actor``), as which principal, with the client
    certificate's principal and the request budget's state (for RateLimit headers)."""

    actor: Actor
    principal: Principal
    mtls: Principal | None = None
    quota: Quota | None = None


def operator(tenant: str = DEFAULT_TENANT, request_id: str | None = None) -> RequestContext:
    """The context of the operator at the console (the CLI): it holds the database and
    the KMS, so its authority is the machine's, not a credential's. System scope for
    the rest of its task; its records name ``system:cli`` and a ``cli-`` request id."""
    enter_system_scope()
    rid = request_id or f"cli-{uuid.uuid4().hex[:16]}"
    return RequestContext(Actor(SYSTEM.id, tenant, rid, None), SYSTEM)


class RateLimitAlarm(Protocol):
    """Hears every 429 (audit/alerts.py ``SecurityAlerts``: the ``rate.limited`` rule)."""

    def rate_limited(self, subject: str, budget: str, tenant: str, request_id: str) -> None: ...


class Guard:
    def __init__(
        self,
        auth: Authenticator,
        limits: RateLimits,
        audit: AuditSink,
        certificates: ClientCertificates | None = None,
        alarm: RateLimitAlarm | None = None,
    ) -> None:
        self._auth, self._limits, self._audit = auth, limits, audit
        self._certs, self._alarm = certificates, alarm

    @property
    def wants_certificates(self) -> bool:
        """Whether a transport should gather client certificates at all."""
        return self._certs is not None

    @property
    def forwarded_header(self) -> str | None:
        return self._certs.header if self._certs is not None else None

    async def authenticate(self, p: Presented) -> RequestContext:
        try:
            await self._limits.before_authentication(p.client_addr)
        except RateLimited as exc:
            self._limited(exc, p.request_id, p.client_addr)
            raise
        mtls = await self._certificate_principal(p)
        try:
            # Credentials are looked up before their tenant is known: system scope.
            with system_scope():
                who = await self._auth.authenticate(
                    Credentials(p.api_key, p.bearer, mtls, p.audience), p.request_id, p.client_addr
                )
        except AuthenticationFailed:
            try:
                await self._limits.authentication_failed(p.client_addr)
            except RateLimited as exc:
                self._limited(exc, p.request_id, p.client_addr)
                raise
            raise
        try:
            quota = await self._limits.request(who)
        except RateLimited as exc:
            self._limited(exc, p.request_id, p.client_addr, who.id, who.tenant)
            raise
        if who.spans_tenants:
            tenant = p.tenant or DEFAULT_TENANT
            if not _TENANT.fullmatch(tenant):
                raise InvalidInput("bad X-Tenant-Id")
        elif p.tenant is not None and p.tenant != who.tenant:
            # Another tenant's objects do not exist for this principal.
            await self._denied(Actor(who.id, who.tenant, p.request_id, p.client_addr), "tenant")
            raise NotFound()
        else:
            tenant = who.tenant
        # PostgreSQL row-level security: from here on this request sees only its
        # tenant's rows, whatever a query forgets (principals across tenants: all).
        set_tenant(ALL if who.spans_tenants else tenant)
        return RequestContext(Actor(who.id, tenant, p.request_id, p.client_addr), who, mtls, quota)

    def resume(self, ctx: RequestContext) -> None:
        """Enter the tenant scope of a context authenticated in another task (the MCP
        HTTP gate authenticates the request; its tool call runs in the MCP session's
        task, where the scope chosen by ``authenticate`` is not set)."""
        set_tenant(ALL if ctx.principal.spans_tenants else ctx.actor.tenant)

    async def anonymous(self, p: Presented) -> Actor:
        """A request that presents no credentials where none are needed (redeeming a
        share): the address's budget is checked like before authentication; the actor
        is ``anonymous``, its tenant left for the service to set."""
        try:
            await self._limits.before_authentication(p.client_addr)
        except RateLimited as exc:
            self._limited(exc, p.request_id, p.client_addr)
            raise
        return Actor("anonymous", "-", p.request_id, p.client_addr)

    async def anonymous_failed(self, actor: Actor) -> None:
        """An anonymous request failed (an unknown token, a wrong passphrase): it draws
        on its address's budget like a failed authentication, so guessing is bounded."""
        try:
            await self._limits.authentication_failed(actor.client_addr)
        except RateLimited as exc:
            self._limited(exc, actor.request_id, actor.client_addr)
            raise

    async def authorize(
        self,
        ctx: RequestContext,
        permission: Permission,
        owner: str | None = None,
        *,
        items: int | None = None,
        resource: str | None = None,
        anywhere: bool = False,
    ) -> None:
        """``owner``: the userId the request is about, if any. ``items``: a data
        request's item count, drawn from the item budget (and a decrypt's owner from the
        distinct-users budget); None for requests that carry no items. ``resource``:
        the named object (a secret's path) grants with a resource pattern must reach;
        ``anywhere``: a listing, allowed when some grant reaches some resource (its
        service then filters item by item)."""
        if self._certs is not None and self._certs.required_for(permission):
            m = ctx.mtls
            if m is None or (m.tenant != ctx.actor.tenant and not m.spans_tenants):
                await self._mtls_failure(ctx.actor.request_id, ctx.actor.client_addr)
                raise AuthenticationFailed()
        if not ctx.principal.can(permission, ctx.actor.tenant, owner, resource, anywhere=anywhere):
            await self._denied(ctx.actor, permission, owner, resource)
            raise Forbidden()
        if items is None:
            return
        try:
            await self._limits.items(ctx.principal, items)
            if permission == DECRYPT and owner is not None:
                await self._limits.decrypt_user(ctx.principal, ctx.actor.tenant, owner)
        except RateLimited as exc:
            a = ctx.actor
            self._limited(exc, a.request_id, a.client_addr, a.principal, a.tenant)
            raise

    def reach(self, ctx: RequestContext, *permissions: Permission) -> Reach:
        """Which named resources the request may act on with every one of
        ``permissions`` (a listing filters its items with it: access/reach.py)."""
        return Reach(ctx.principal, ctx.actor.tenant, tuple(permissions))

    async def record_read(
        self,
        ctx: RequestContext,
        permission: Permission,
        route: str,
        target: str | None,
        *,
        user_target: bool = False,
    ) -> None:
        """A read changes nothing and its service records nothing, yet it leaves a
        record, written before the read runs: a read whose record cannot be written
        does not happen."""
        await self._audit.append(
            AuditEvent(
                ctx.actor,
                ApiAction.READ,
                Outcome.SUCCESS,
                target,
                detail={"permission": permission, "route": route},
                target_kind="userId" if user_target else None,
            )
        )

    async def record_rejected(self, actor: Actor, code: str, route: str) -> None:
        """An authenticated request refused after authentication (invalid body, rate
        limit, ...) by a path that wrote no record itself: one failure record."""
        if self._audit.recorded(actor.request_id):
            return
        await self._audit.append(
            AuditEvent(
                actor, ApiAction.REJECTED, Outcome.FAILURE, detail={"code": code, "route": route}
            )
        )

    def _limited(
        self,
        exc: RateLimited,
        rid: str,
        addr: str | None,
        who: str | None = None,
        tenant: str = "-",
    ) -> None:
        """Tell the alarm whose budget is spent: the principal's, the address's, or
        (``*``) the failed-authentication budget of all addresses together."""
        if self._alarm is not None:
            budget = str(exc.detail.get("budget", "-"))
            subject = who or f"addr:{addr or 'unknown'}"
            self._alarm.rate_limited(
                "*" if budget == "auth_failures" else subject, budget, tenant, rid
            )

    async def _certificate_principal(self, p: Presented) -> Principal | None:
        certs, cert = self._certs, p.certificate
        if certs is None or cert is None:
            return None
        if cert.forwarded is not None and certs.trusted_proxy(cert.socket_peer):
            verified = certs.verify_forwarded(cert.forwarded)
            if verified is None:
                await self._mtls_failure(
                    p.request_id, p.client_addr, "forwarded certificate not verified"
                )
                return None
            return certs.principal(verified)
        if cert.chain:  # verified in the handshake against the client CA
            return certs.principal(x509.load_pem_x509_certificate(cert.chain[0].encode("ascii")))
        return None

    async def _mtls_failure(
        self, request_id: str, addr: str | None, reason: str = "client certificate required"
    ) -> None:
        actor = Actor("anonymous", "-", request_id, addr)
        await self._audit.append(
            AuditEvent(actor, AuthAction.MTLS, Outcome.FAILURE, detail={"reason": reason})
        )

    async def _denied(
        self, actor: Actor, permission: str, owner: str | None = None, resource: str | None = None
    ) -> None:
        """``owner``: the userId (from the path or the body) the refused request was
        about, so that an auditor sees whose key was probed; a keyed tag where
        AUDIT_SENSITIVE_IDENTIFIERS names userId, like every other userId target.
        Otherwise the ``resource`` (a secret's path) is the target."""
        await self._audit.append(
            AuditEvent(
                actor,
                AuthzAction.DENIED,
                Outcome.DENIED,
                owner if owner is not None else resource,
                detail={"permission": permission},
                target_kind="userId" if owner is not None else RESOURCE_KIND,
            )
        )
