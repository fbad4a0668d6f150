"""Settings of the HTTP server: where it listens, TLS, client certificates."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from strongroom.config.base import Section


class ServerSettings(Section):
    """The HTTP server of `strongroom serve` (api/)."""

    host: str = "127.0.0.1"
    """Listen address (`serve --host`)."""
    port: int = 8080
    """Listen port (`serve --port`)."""
    workers: int = Field(default=1, ge=1)
    """Worker processes (`serve --workers`)."""
    max_body_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)
    """Largest request body (more: 413 ``REQ001``)."""
    # Admission control per worker (api/admission.py); health, readiness and metrics
    # are never held back.
    max_in_flight: int = Field(default=128, ge=1)
    """Requests one worker runs at once; the next ones wait in arrival order."""
    max_queue: int = Field(default=4096, ge=0)
    """Requests one worker queues; past it a request is answered 503 ``SYS002`` with
    ``Retry-After`` at once."""
    max_queue_wait_seconds: float = Field(default=5.0, gt=0)
    """A queued request that waited this long is answered 503 ``SYS002``."""
    cors_allow_origins: list[str] = Field(default_factory=list)
    """Exact browser origins allowed to call the API (CORS); ``*`` is refused. Empty:
    closed, no CORS headers."""
    # Empty: the socket peer is the client, whatever headers say, so no caller can pick
    # the address its limits and audit records get.
    trusted_proxies: list[str] = Field(default_factory=list)
    """Reverse proxies (IPs or CIDRs of the socket peer) whose ``X-Forwarded-For`` and
    ``X-Forwarded-Proto`` are believed. Empty: the socket peer is the client."""

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, proxies: list[str]) -> list[str]:
        try:
            for entry in proxies:
                ipaddress.ip_network(entry.strip(), strict=False)
        except ValueError as exc:
            raise ValueError(f"list IPs or CIDRs ('*' is refused): {exc}") from None
        return proxies

    @field_validator("cors_allow_origins")
    @classmethod
    def _exact_origins(cls, origins: list[str]) -> list[str]:
        # "*" would let any web page drive the API with a key its user pasted.
        if any(o == "*" or not o.startswith(("https://", "http://")) for o in origins):
            raise ValueError("list exact origins such as https://app.example.com; '*' is refused")
        return origins


class TlsSettings(Section):
    """TLS served by `strongroom serve` itself (api/tls_server.py). ``client_auth``
    ``required`` also makes every request need a mapped certificate (from the handshake
    or a trusted proxy), as ``STRONGROOM_AUTH_REQUIRED='["mtls"]'`` does;
    ``STRONGROOM_AUTH_REQUIRED_FOR`` requires one per permission."""

    cert_file: Path | None = None
    """PEM certificate chain; set with ``key_file`` to serve HTTPS (may hold the key too,
    then ``key_file`` stays unset)."""
    key_file: Path | None = None
    """PEM private key of ``cert_file``."""
    client_ca_file: Path | None = None
    """CA that client certificates (from the handshake or a trusted proxy) must chain to."""
    client_auth: Literal["none", "optional", "required"] = "none"
    """Ask for client certificates: ``none``, ``optional`` or ``required`` (refused at
    the handshake without one, and every request needs a mapped certificate)."""


class MtlsSettings(Section):
    """Client certificates mapped to principals (access/mtls.py)."""

    principals: dict[str, dict[str, str | list[str]]] = Field(default_factory=dict)
    """Certificates to principals, by exact SAN or fingerprint (never the CN):
    ``{"dns:svc.example.com" | "uri:spiffe://..." | "email:a@b" | "sha256:<hex>":
    {"tenant": "...", "roles": [...], "subject": optional principal id}}``."""
    trusted_proxies: list[str] = Field(default_factory=list)
    """Socket addresses (IPs or CIDRs) of TLS-terminating proxies whose forwarded
    client certificate counts; it is verified again against ``client_ca_file``."""
    forwarded_header: str = "X-SSL-Client-Cert"
    """Header carrying the forwarded certificate (URL-encoded PEM, nginx's
    ``$ssl_client_escaped_cert``, leaf first)."""
