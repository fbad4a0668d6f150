"""TLS for ``strongroom serve``: the server's SSL context and a uvicorn protocol that
hands the verified client certificate to the app.

uvicorn (0.54) terminates TLS but does not implement the ASGI TLS extension, so the
app never sees the client certificate. ``TlsHttpProtocol`` adds, per connection:

* ``scope["extensions"]["tls"]`` as the ASGI spec defines it (``client_cert_chain``
  holds the leaf only: Python 3.11's ``ssl`` exposes no verified chain);
* ``scope["extensions"][PEER]``: the TCP peer's address, recorded before uvicorn's
  proxy-headers middleware rewrites ``scope["client"]`` from ``X-Forwarded-For``;

and strips the forwarded client-certificate header from any peer that is not a
configured proxy, so nothing downstream can mistake it for the proxy's word.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import ssl
from typing import Any

from cryptography import x509
from uvicorn._types import ASGI3Application, ASGIReceiveCallable, ASGISendCallable, Scope
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from strongroom.access.mtls import Network, in_networks, parse_networks
from strongroom.config import Settings, TlsSettings
from strongroom.errors import InternalError

PEER = "strongroom.peer"
# TLS 1.2 suites: forward secret AEAD only. TLS 1.3 suites are all AEAD and stay default;
# OpenSSL picks the highest version both sides speak, so 1.3 is preferred.
TLS12_CIPHERS = "ECDHE+AESGCM:ECDHE+CHACHA20"
_VERSIONS = {"TLSv1.2": 0x0303, "TLSv1.3": 0x0304}
_CLIENT_AUTH = {
    "none": ssl.CERT_NONE,
    "optional": ssl.CERT_OPTIONAL,
    "required": ssl.CERT_REQUIRED,
}


def tls_enabled(settings: Settings) -> bool:
    return settings.tls.cert_file is not None


def server_ssl_context(settings: TlsSettings) -> ssl.SSLContext:
    """The server's context. A client CA file is there when client_auth asks for one
    (refused at load otherwise, config/settings.py)."""
    if settings.cert_file is None:
        raise ValueError("tls_cert_file is not set")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_ciphers(TLS12_CIPHERS)
    ctx.options |= ssl.OP_NO_COMPRESSION | ssl.OP_CIPHER_SERVER_PREFERENCE
    ctx.options |= ssl.OP_NO_RENEGOTIATION
    ctx.load_cert_chain(settings.cert_file, settings.key_file)
    ctx.set_alpn_protocols(["http/1.1"])
    if settings.client_auth != "none":
        # Only this CA: a certificate from any other issuer fails the handshake.
        ctx.load_verify_locations(cafile=settings.client_ca_file)
        ctx.verify_mode = _CLIENT_AUTH[settings.client_auth]
    return ctx


def ssl_context_factory(_config: Config, _default: Any) -> ssl.SSLContext:
    """uvicorn's hook; module level so that it pickles into ``--workers`` processes,
    each of which reads the same environment."""
    return server_ssl_context(Settings().tls)


def tls_extension(ssl_object: ssl.SSLObject) -> dict[str, Any]:
    """The ASGI TLS extension for one connection. A client certificate appears only
    when the context asked for one, i.e. when the handshake verified it."""
    chain: list[str] = []
    name: str | None = None
    der = ssl_object.getpeercert(binary_form=True)
    if der and ssl_object.context.verify_mode != ssl.CERT_NONE:
        chain = [ssl.DER_cert_to_PEM_cert(der)]
        name = x509.load_der_x509_certificate(der).subject.rfc4514_string()
    return {
        "server_cert": None,
        "client_cert_chain": chain,
        "client_cert_name": name,
        "client_cert_error": None,
        "tls_version": _VERSIONS.get(ssl_object.version() or ""),
        "cipher_suite": None,  # ssl gives the suite's name, the spec wants its number
    }


@functools.cache
def _edge() -> tuple[bytes, tuple[Network, ...]]:
    mtls = Settings().mtls
    return mtls.forwarded_header.lower().encode(), parse_networks(mtls.trusted_proxies)


def connection_app(app: ASGI3Application, transport: asyncio.BaseTransport) -> ASGI3Application:
    peername = transport.get_extra_info("peername")
    peer = str(peername[0]) if isinstance(peername, tuple) and peername else None
    ext: dict[str, Any] = {PEER: peer}
    ssl_object = transport.get_extra_info("ssl_object")
    if isinstance(ssl_object, ssl.SSLObject):
        ext["tls"] = tls_extension(ssl_object)
    header, proxies = _edge()
    strip = not in_networks(peer, proxies)

    async def with_connection(
        scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable
    ) -> None:
        if scope["type"] in ("http", "websocket"):
            s: dict[str, Any] = scope  # type: ignore[assignment]
            s["extensions"] = {**(s.get("extensions") or {}), **ext}
            if strip:
                s["headers"] = [h for h in s["headers"] if h[0] != header]
        await app(scope, receive, send)

    return with_connection


class TlsHttpProtocol(HttpToolsProtocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.app = connection_app(self.app, transport)


def proxy_options(settings: Settings) -> dict[str, Any]:
    """uvicorn believes ``X-Forwarded-For`` from loopback by default, so any local
    process could pick its own address (and dodge per-address limits, forge audit
    addresses). Only ``TRUSTED_PROXIES`` are believed; none by default. Normalised
    here because uvicorn reads a CIDR with host bits set as a literal that never
    matches."""
    proxies = [
        str(ipaddress.ip_network(p.strip(), strict=False)) for p in settings.server.trusted_proxies
    ]
    return {"proxy_headers": bool(proxies), "forwarded_allow_ips": proxies}


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """Extra ``uvicorn.run`` arguments: the trusted proxies (plain HTTP, uvicorn's own
    protocol, by default); with TLS or client-certificate settings, our protocol, and with TLS the
    context (built once here so that a bad file fails before any worker starts)."""
    options: dict[str, Any] = proxy_options(settings)
    if settings.mtls.principals or settings.mtls.trusted_proxies or tls_enabled(settings):
        options["http"] = TlsHttpProtocol
    if tls_enabled(settings):
        try:
            server_ssl_context(settings.tls)
        except (ValueError, OSError) as exc:  # ssl.SSLError is an OSError
            raise InternalError(f"TLS settings: {exc}") from None
        options["ssl_context_factory"] = ssl_context_factory
    return options
