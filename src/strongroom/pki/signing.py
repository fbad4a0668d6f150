"""Keys and signatures of the internal CA (pure): generated keys, the hash each key
type signs with, CA and leaf certificate builders, CSR reading."""

from __future__ import annotations

from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import (
    CertificateIssuerPrivateKeyTypes,
    CertificatePublicKeyTypes,
    PrivateKeyTypes,
)
from cryptography.x509.oid import NameOID

from strongroom.errors import InvalidInput
from strongroom.pki.errors import BadCertificate

KEY_TYPES = ("ec-p256", "ec-p384", "rsa-2048", "rsa-3072", "rsa-4096", "ed25519")


def generate(key_type: str) -> CertificateIssuerPrivateKeyTypes:
    if key_type == "ec-p256":
        return ec.generate_private_key(ec.SECP256R1())
    if key_type == "ec-p384":
        return ec.generate_private_key(ec.SECP384R1())
    if key_type.startswith("rsa-") and key_type in KEY_TYPES:
        return rsa.generate_private_key(65537, int(key_type[4:]))
    if key_type == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    raise InvalidInput("unknown key type")


def type_of(public: CertificatePublicKeyTypes) -> str:
    """The ``KEY_TYPES`` name of a subject key (``other-<bits>`` for any other)."""
    if isinstance(public, ec.EllipticCurvePublicKey):
        return f"ec-p{public.curve.key_size}"
    if isinstance(public, rsa.RSAPublicKey):
        return f"rsa-{public.key_size}"
    if isinstance(public, ed25519.Ed25519PublicKey):
        return "ed25519"
    return "other"


def signer(key: PrivateKeyTypes) -> CertificateIssuerPrivateKeyTypes:
    if isinstance(
        key,
        rsa.RSAPrivateKey
        | ec.EllipticCurvePrivateKey
        | ed25519.Ed25519PrivateKey
        | ed448.Ed448PrivateKey,
    ):
        return key
    raise InvalidInput("key type cannot sign certificates")


def digest(key: CertificateIssuerPrivateKeyTypes) -> hashes.SHA256 | hashes.SHA384 | None:
    if isinstance(key, ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey):
        return None  # EdDSA hashes internally
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.key_size >= 384:
        return hashes.SHA384()
    return hashes.SHA256()


def name(common_name: str) -> x509.Name:
    # X.520 bounds a common name at 64; cryptography counts its UTF-8 bytes.
    if not 1 <= len(common_name.encode("utf-8", "surrogatepass")) <= 64:
        raise InvalidInput(CN_TOO_LONG)
    try:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    except ValueError:
        raise InvalidInput(CN_TOO_LONG) from None


CN_TOO_LONG = "commonName must be 1 to 64 bytes in UTF-8"


def ca_certificate(
    subject: x509.Name,
    key: CertificateIssuerPrivateKeyTypes,
    not_before: datetime,
    not_after: datetime,
    issuer: x509.Certificate | None,
    issuer_key: CertificateIssuerPrivateKeyTypes | None,
) -> x509.Certificate:
    """A root (self-signed) or, with ``issuer``, an intermediate CA certificate."""
    sign_with = issuer_key or key
    public = key.public_key()
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.subject if issuer else subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(sign_with.public_key()),
            critical=False,
        )
    )
    return builder.sign(sign_with, digest(sign_with))


def read_csr(pem: str) -> x509.CertificateSigningRequest:
    try:
        csr = x509.load_pem_x509_csr(pem.encode())
        valid = csr.is_signature_valid
    except Exception:  # garbage, or an algorithm we cannot check
        raise BadCertificate() from None
    if not valid:
        raise BadCertificate("CSR signature does not verify")
    return csr


def csr_names(csr: x509.CertificateSigningRequest) -> tuple[str | None, list[str], list[str]]:
    """(common name, DNS SANs, IP SANs) a CSR asks for."""
    cns = csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    cn = str(cns[0].value) if cns else None
    try:
        ext = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return cn, [], []
    except Exception:
        raise BadCertificate() from None
    dns = ext.get_values_for_type(x509.DNSName)
    ips = [str(i) for i in ext.get_values_for_type(x509.IPAddress)]
    return cn, dns, ips


def public_of(csr: x509.CertificateSigningRequest) -> CertificatePublicKeyTypes:
    try:
        return csr.public_key()
    except Exception:
        raise BadCertificate() from None
