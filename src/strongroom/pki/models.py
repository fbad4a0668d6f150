"""What the certificate services answer (never ORM rows: the edges never see the store)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives import serialization


@dataclass(frozen=True)
class CertificateView:
    fingerprint: str
    subject: str
    issuer: str
    serial: str
    key_algorithm: str
    key_size: int
    not_before: datetime
    not_after: datetime
    sans: tuple[tuple[str, str], ...]
    is_ca: bool
    source: str
    has_key: bool
    key_reused: bool
    revoked_at: datetime | None
    revocation_reason: str | None
    created_at: datetime
    issuer_fingerprint: str | None = None  # the chain link, when the issuer is in the inventory
    renewed_from: str | None = None
    renewed_by: str | None = None
    der: bytes = b""
    chain: tuple[str, ...] = ()  # issuers' fingerprints up the chain (detail only)

    @property
    def pem(self) -> str:
        cert = x509.load_der_x509_certificate(self.der)
        return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


@dataclass(frozen=True)
class Imported:
    """One import: every certificate of the bundle, which were new, and the leaf's."""

    certificates: tuple[CertificateView, ...]
    created: tuple[bool, ...]
    leaf: str  # fingerprint of the bundle's end-entity certificate


@dataclass(frozen=True)
class CertificatePage:
    items: list[CertificateView]
    next_cursor: str | None = None


@dataclass(frozen=True)
class Exported:
    fingerprint: str
    format: str  # pem | pkcs12
    data: bytes


@dataclass(frozen=True)
class CertQuery:
    expires_before: datetime | None = None
    issuer: str | None = None
    san: str | None = None
    cursor: str | None = None
    limit: int = 100
