"""Client certificates (mTLS): which principal a verified certificate is, and whether a
certificate forwarded by a TLS-terminating proxy is to be believed.

A certificate maps to a principal only through an exact identity from configuration:

* ``dns:<name>``    — a SAN dNSName (compared lower-case);
* ``uri:<uri>``     — a SAN uniformResourceIdentifier (e.g. a SPIFFE id), exact;
* ``email:<addr>``  — a SAN rfc822Name, exact;
* ``sha256:<hex>``  — the SHA-256 fingerprint of the certificate's DER.

The subject's CN is never consulted: ``CN=svc.example.com.evil`` or a CN-only
certificate maps to nothing. A certificate whose identities map to two different
bindings is ambiguous and maps to nothing as well.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

from strongroom.access.models import Principal
from strongroom.access.rbac import Grant
from strongroom.config import AuthSettings, MtlsSettings, TlsSettings, client_certificates_used
from strongroom.errors import InternalError

_KINDS = ("dns", "uri", "email", "sha256")
# A forwarded chain is a few certificates; anything far larger is not one.
MAX_FORWARDED_BYTES = 32 * 1024
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class CertBinding:
    subject: str  # the principal id
    tenant: str
    roles: tuple[str, ...]

    def principal(self) -> Principal:
        return Principal(self.subject, self.tenant, self.roles)


def normalize_identity(identity: str) -> str:
    """Canonical form of a configured identity; ValueError when it is not one."""
    kind, sep, value = identity.partition(":")
    kind = kind.lower()
    if not sep or kind not in _KINDS or not value:
        raise ValueError(f"mTLS identity must be one of {', '.join(_KINDS)}:<value>")
    if kind == "dns":
        value = value.lower()
    if kind == "sha256":
        value = value.replace(":", "").lower()
        if len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
            raise ValueError("sha256: wants 64 hex digits (colons allowed)")
    return f"{kind}:{value}"


def parse_bindings(raw: Mapping[str, Mapping[str, str | list[str]]]) -> dict[str, CertBinding]:
    """Settings' ``mtls_principals`` as bindings; ValueError names the bad entry."""
    out: dict[str, CertBinding] = {}
    for identity, spec in raw.items():
        key = normalize_identity(identity)
        tenant, roles, subject = spec.get("tenant"), spec.get("roles", []), spec.get("subject")
        if not isinstance(tenant, str) or not tenant:
            raise ValueError(f"mTLS binding {identity!r}: tenant is required")
        if isinstance(roles, str) or not roles:
            raise ValueError(f"mTLS binding {identity!r}: roles must be a non-empty list")
        if subject is not None and not isinstance(subject, str):
            raise ValueError(f"mTLS binding {identity!r}: subject must be a string")
        out[key] = CertBinding(subject or key, tenant, tuple(roles))
    return out


def fingerprint(cert: x509.Certificate) -> str:
    return cert.fingerprint(hashes.SHA256()).hex()


def identities(cert: x509.Certificate) -> list[str]:
    """Every identity of ``cert`` a binding may name (fingerprint first, then SANs)."""
    out = [f"sha256:{fingerprint(cert)}"]
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return out
    out += [f"dns:{n.lower()}" for n in san.get_values_for_type(x509.DNSName)]
    out += [f"uri:{u}" for u in san.get_values_for_type(x509.UniformResourceIdentifier)]
    out += [f"email:{e}" for e in san.get_values_for_type(x509.RFC822Name)]
    return out


def parse_networks(entries: Iterable[str]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(e.strip(), strict=False) for e in entries)


def in_networks(peer: str | None, networks: Sequence[Network]) -> bool:
    if peer is None or not networks:
        return False
    try:
        addr = ipaddress.ip_address(peer)
    except ValueError:
        return False
    return any(addr in net for net in networks)


class ClientCertificates:
    """Maps verified certificates to principals and re-verifies forwarded ones."""

    def __init__(
        self,
        bindings: Mapping[str, CertBinding],
        ca: Sequence[x509.Certificate] = (),
        *,
        proxies: Sequence[Network] = (),
        header: str = "X-SSL-Client-Cert",
        required: bool = False,
        required_for: Iterable[str] = (),
    ) -> None:
        self._bindings = dict(bindings)
        self._store = Store(list(ca)) if ca else None
        self._proxies = tuple(proxies)
        self.header = header.lower()
        self.required = required  # every request needs a mapped certificate
        # permission patterns ("keys:decrypt", "keys:*") that need one
        self._required_for = tuple(Grant(p) for p in required_for)

    def required_for(self, permission: str) -> bool:
        return self.required or any(g.matches(permission) for g in self._required_for)

    def principal(self, cert: x509.Certificate) -> Principal | None:
        """The principal of an already verified certificate; None when unmapped or
        ambiguous."""
        found = {self._bindings[i] for i in identities(cert) if i in self._bindings}
        return found.pop().principal() if len(found) == 1 else None

    def trusted_proxy(self, peer: str | None) -> bool:
        """Is ``peer`` (the TCP peer's address, never a forwarded one) a configured proxy?"""
        return in_networks(peer, self._proxies)

    def verify_forwarded(self, value: str, now: datetime | None = None) -> x509.Certificate | None:
        """The leaf of a forwarded chain (URL-encoded PEM, leaf first) once it verifies
        against the client CA as a client certificate (dates, key usage, extended key
        usage clientAuth); None otherwise. The proxy's word alone is not enough: a
        misconfigured proxy must not turn any certificate into a principal."""
        if self._store is None or not value or len(value) > MAX_FORWARDED_BYTES:
            return None
        try:
            chain = x509.load_pem_x509_certificates(unquote(value).encode("ascii"))
        except (ValueError, UnicodeEncodeError):
            return None
        verifier = (
            PolicyBuilder()
            .store(self._store)
            .time(now or datetime.now(UTC))
            .build_client_verifier()
        )
        try:
            verifier.verify(chain[0], chain[1:])
        except VerificationError:
            return None
        return chain[0]


def load_ca(path: Path) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(path.read_bytes())


def build_client_certificates(
    tls: TlsSettings, mtls: MtlsSettings, auth: AuthSettings
) -> ClientCertificates | None:
    """None when nothing about client certificates is configured (the default) or the
    authentication policy does not accept the method. The requirements come from the
    policy's settings (access/policy.py) and from ``tls.client_auth=required``; the
    settings refuse, at load, a configuration that needs a CA file without one."""
    if not client_certificates_used(tls, mtls, auth):
        return None
    required_for = [p for p, methods in auth.required_for.items() if "mtls" in methods]
    try:
        return ClientCertificates(
            parse_bindings(mtls.principals),
            load_ca(tls.client_ca_file) if tls.client_ca_file else (),
            proxies=parse_networks(mtls.trusted_proxies),
            header=mtls.forwarded_header,
            required=tls.client_auth == "required" or "mtls" in auth.required,
            required_for=required_for,
        )
    except (ValueError, OSError) as exc:
        raise InternalError(f"client certificate settings: {exc}") from None
