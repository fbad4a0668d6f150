"""What the inventory indexes about a certificate (pure). ``san_matches`` and
``issuer_matches`` are the query semantics, shared by the repository's SQL and by
the tests' brute-force answer."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import (
    CertificatePublicKeyTypes,
    PrivateKeyTypes,
)

from strongroom.pki.errors import BadCertificate

E = TypeVar("E", bound=x509.ExtensionType)
MAX_NAME = 2048  # characters of a subject or issuer as stored (RFC 4514 text)
MAX_SAN = 512
MAX_ID = 128  # hex characters of a serial number or key identifier


@dataclass(frozen=True)
class Facts:
    fingerprint: str  # SHA-256 of the DER, lower-case hex: the certificate's identity
    subject: str  # RFC 4514
    issuer: str
    subject_hash: str  # SHA-256 of the DER Name: exact matching for chain links
    issuer_hash: str
    serial: str  # lower-case hex
    key_algorithm: str  # rsa | ec | ed25519 | ed448 | dsa
    key_size: int  # bits (the curve's for EC)
    not_before: datetime
    not_after: datetime
    sans: tuple[tuple[str, str], ...]  # (kind, value); DNS names lower-case
    is_ca: bool
    ski: str | None
    aki: str | None
    spki_sha256: str  # the public key's identity: key reuse across renewals
    der: bytes

    @property
    def san_values(self) -> frozenset[str]:
        return frozenset(v for _, v in self.sans)


def facts_of(cert: x509.Certificate) -> Facts:
    try:
        return _facts(cert)
    except BadCertificate:
        raise
    except Exception:  # malformed extensions surface lazily, on access
        raise BadCertificate() from None


def _facts(cert: x509.Certificate) -> Facts:
    der = cert.public_bytes(serialization.Encoding.DER)
    public = cert.public_key()
    algorithm, size = key_kind(public)
    subject, issuer = cert.subject.rfc4514_string(), cert.issuer.rfc4514_string()
    if len(subject) > MAX_NAME or len(issuer) > MAX_NAME:
        raise BadCertificate("name too long")
    serial, ski, aki = format(cert.serial_number, "x"), _ski(cert), _aki(cert)
    # The columns' widths (RFC 5280 allows 20-octet serials; key ids are hashes).
    if len(serial) > MAX_ID or len(ski or "") > MAX_ID or len(aki or "") > MAX_ID:
        raise BadCertificate("identifier too long")
    return Facts(
        fingerprint=cert.fingerprint(hashes.SHA256()).hex(),
        subject=subject,
        issuer=issuer,
        subject_hash=_sha(cert.subject.public_bytes()),
        issuer_hash=_sha(cert.issuer.public_bytes()),
        serial=serial,
        key_algorithm=algorithm,
        key_size=size,
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        sans=_sans(cert),
        is_ca=_is_ca(cert),
        ski=ski,
        aki=aki,
        spki_sha256=spki_sha256(public),
        der=der,
    )


def key_kind(public: CertificatePublicKeyTypes) -> tuple[str, int]:
    if isinstance(public, rsa.RSAPublicKey):
        return "rsa", public.key_size
    if isinstance(public, ec.EllipticCurvePublicKey):
        return "ec", public.curve.key_size
    if isinstance(public, ed25519.Ed25519PublicKey):
        return "ed25519", 256
    if isinstance(public, ed448.Ed448PublicKey):
        return "ed448", 456
    if isinstance(public, dsa.DSAPublicKey):
        return "dsa", public.key_size
    return "other", 0


def spki_sha256(public: CertificatePublicKeyTypes) -> str:
    spki = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return _sha(spki)


def key_matches(key: PrivateKeyTypes, facts: Facts) -> bool:
    public = key.public_key()
    try:
        return spki_sha256(public) == facts.spki_sha256  # type: ignore[arg-type]
    except Exception:  # a key type with no SubjectPublicKeyInfo (e.g. X25519)
        return False


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _ext(cert: x509.Certificate, kind: type[E]) -> E | None:
    try:
        return cert.extensions.get_extension_for_class(kind).value
    except x509.ExtensionNotFound:
        return None


def _sans(cert: x509.Certificate) -> tuple[tuple[str, str], ...]:
    ext = _ext(cert, x509.SubjectAlternativeName)
    if ext is None:
        return ()
    out: list[tuple[str, str]] = []
    for name in ext:
        if isinstance(name, x509.DNSName):
            out.append(("dns", name.value.lower()))
        elif isinstance(name, x509.IPAddress):
            out.append(("ip", str(name.value)))
        elif isinstance(name, x509.RFC822Name):
            out.append(("email", name.value.lower()))
        elif isinstance(name, x509.UniformResourceIdentifier):
            out.append(("uri", name.value))
    if any(len(v) > MAX_SAN for _, v in out) or len(out) > 1000:
        raise BadCertificate("subject alternative names too long")
    return tuple(dict.fromkeys(out))


def _is_ca(cert: x509.Certificate) -> bool:
    bc = _ext(cert, x509.BasicConstraints)
    return bool(bc and bc.ca)


def _ski(cert: x509.Certificate) -> str | None:
    ext = _ext(cert, x509.SubjectKeyIdentifier)
    return ext.digest.hex() if ext is not None else None


def _aki(cert: x509.Certificate) -> str | None:
    ext = _ext(cert, x509.AuthorityKeyIdentifier)
    return ext.key_identifier.hex() if ext is not None and ext.key_identifier else None


def utc(at: datetime) -> datetime:
    """``at`` in UTC; an instant at the edge of the calendar whose UTC falls outside it
    is clamped to the edge (nothing is valid before year 1 or after 9999 anyway)."""
    try:
        return at.astimezone(UTC)
    except OverflowError:
        edge = datetime.min if at.year == 1 else datetime.max
        return edge.replace(tzinfo=UTC)


def san_candidates(query: str) -> tuple[str, ...]:
    """The SAN values that cover the host ``query``: itself, and the wildcard one
    label up (``*.example.com`` covers ``www.example.com``, RFC 6125: one label)."""
    q = query.strip().lower()
    head, dot, rest = q.partition(".")
    if dot and head and head != "*" and rest:
        return (q, f"*.{rest}")
    return (q,)


def san_matches(query: str, sans: frozenset[str]) -> bool:
    return any(c in sans for c in san_candidates(query))


def issuer_matches(query: str, issuer: str) -> bool:
    """Case-insensitive substring of the issuer's RFC 4514 name."""
    return query.lower() in issuer.lower()


def directly_issued_by(child: x509.Certificate, parent: x509.Certificate) -> bool:
    try:
        child.verify_directly_issued_by(parent)
    except Exception:  # wrong name, wrong key, unsupported algorithm: not the issuer
        return False
    return True
