"""The request's client-certificate principal (access/mtls.py) and the "mTLS required"
checks. The certificate comes from the handshake (``scope["extensions"]["tls"]``, set by
api/tls_server.py) or, from a configured proxy's socket address only, from the
forwarded header, which is verified again against the client CA."""

from __future__ import annotations

from typing import Any

from cryptography import x509
from fastapi import Request

from strongroom.access.models import Principal
from strongroom.api.tls_server import PEER
from strongroom.audit.models import AuditEvent, Outcome
from strongroom.context import Actor
from strongroom.errors import AuthenticationFailed
from strongroom.services.container import Services


async def mtls_principal(request: Request, svc: Services) -> Principal | None:
    """The principal of the request's verified, mapped client certificate, or None.
    Cached on the request: several dependencies may ask."""
    certs = svc.mtls
    if certs is None:
        return None
    if hasattr(request.state, "mtls_principal"):
        cached: Principal | None = request.state.mtls_principal
        return cached
    extensions: dict[str, Any] = request.scope.get("extensions") or {}
    who: Principal | None = None
    forwarded = request.headers.get(certs.header)
    # The socket peer, never request.client: that one may come from X-Forwarded-For.
    if forwarded is not None and certs.trusted_proxy(extensions.get(PEER)):
        cert = certs.verify_forwarded(forwarded)
        if cert is None:
            await _audit_failure(request, svc, "forwarded certificate not verified")
        else:
            who = certs.principal(cert)
    else:
        chain = (extensions.get("tls") or {}).get("client_cert_chain") or ()
        if chain:
            # Verified in the handshake against tls_client_ca_file.
            who = certs.principal(x509.load_pem_x509_certificate(chain[0].encode("ascii")))
    request.state.mtls_principal = who
    return who


async def require_mtls(request: Request, svc: Services, actor: Actor, permission: str) -> None:
    """401 when configuration requires a client certificate for this request (always,
    or for ``permission``) and it has no mapped one in the acting tenant."""
    certs = svc.mtls
    if certs is None or not certs.required_for(permission):
        return
    who = await mtls_principal(request, svc)
    if who is None or (who.tenant != actor.tenant and not who.spans_tenants):
        await _audit_failure(request, svc, "client certificate required")
        raise AuthenticationFailed()


async def _audit_failure(request: Request, svc: Services, reason: str) -> None:
    addr = request.client.host if request.client else None
    actor = Actor("anonymous", "-", request.state.request_id, addr)
    await svc.audit.append(
        AuditEvent(actor, "auth.mtls", Outcome.FAILURE, detail={"reason": reason})
    )
