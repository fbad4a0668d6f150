"""Certificates for the certificate tests, made fast: a few CA keys, a small pool of
EC leaf keys reused across leaves (the inventory does not care), random names, SANs
and lifetimes from a seed, so a run is reproducible."""

from __future__ import annotations

import base64
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.api.conftest import App

EPOCH = datetime(2027, 1, 1, tzinfo=UTC)


def name(cn: str, org: str | None = None) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    if org:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, org))
    return x509.Name(attrs)


@dataclass
class Ca:
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    @property
    def pem(self) -> str:
        return pem(self.cert)


def pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def key_pem(key: ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def make_ca(
    cn: str,
    parent: Ca | None = None,
    not_before: datetime = EPOCH - timedelta(days=365),
    not_after: datetime = EPOCH + timedelta(days=3650),
) -> Ca:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = name(cn, "Strongroom Tests")
    signer = parent.key if parent else key
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(parent.cert.subject if parent else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(signer, hashes.SHA256())
    )
    return Ca(cert, key)


def leaf(
    ca: Ca,
    cn: str,
    sans: list[str],
    not_before: datetime,
    not_after: datetime,
    key: ec.EllipticCurvePrivateKey | None = None,
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = key or ec.generate_private_key(ec.SECP256R1())
    builder = (
        x509.CertificateBuilder()
        .subject_name(name(cn))
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
    )
    if sans:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(s) for s in sans]), critical=False
        )
    return builder.sign(ca.key, hashes.SHA256()), key


@dataclass(frozen=True)
class Generated:
    fingerprint: str
    issuer: str
    sans: frozenset[str]
    not_after: datetime


HOSTS = ["api", "www", "mail", "db", "cache", "auth", "ci", "vpn"]
DOMAINS = ["example.com", "example.org", "acme.test", "corp.internal"]


def population(n: int, seed: int = 7) -> tuple[list[Ca], list[tuple[x509.Certificate, Generated]]]:
    """``n`` leaves under four issuers (one intermediate under a root), lifetimes
    spread over two years, some wildcard SANs, some without SANs; 8 reused keys."""
    rng = random.Random(seed)
    root = make_ca("Tests Root")
    cas = [root, make_ca("Tests Issuing A", root), make_ca("Tests Issuing B"), make_ca("Other CA")]
    keys = [ec.generate_private_key(ec.SECP256R1()) for _ in range(8)]
    out = []
    for i in range(n):
        ca = rng.choice(cas[1:])
        domain = rng.choice(DOMAINS)
        hosts = rng.sample(HOSTS, rng.randint(0, 3))
        sans = [f"{h}.{domain}" for h in hosts]
        if rng.random() < 0.15:
            sans.append(f"*.{domain}")
        start = EPOCH + timedelta(days=rng.randint(-400, 300), seconds=rng.randint(0, 86399))
        end = start + timedelta(days=rng.choice([7, 30, 90, 397]), seconds=rng.randint(0, 999))
        cert, _ = leaf(ca, f"leaf-{i}.{domain}", sans, start, end, rng.choice(keys))
        fp = cert.fingerprint(hashes.SHA256()).hex()
        facts = Generated(
            fp, cert.issuer.rfc4514_string(), frozenset(sans), end.replace(microsecond=0)
        )
        out.append((cert, facts))
    return cas, out


async def import_pem(app: App, text: str, **extra: Any) -> dict[str, Any]:
    r = await app.post("/api/v1/certificates", {"pem": text, **extra})
    assert r.status_code == 201, r.text
    return dict(r.json())


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
