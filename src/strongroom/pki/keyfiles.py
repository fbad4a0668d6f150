"""Private keys in and out (pure): the form a key is sealed in, and the files an
export hands out (PEM, or PKCS#12 encrypted with the caller's password)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.hazmat.primitives.serialization import pkcs12

from strongroom.errors import InternalError, InvalidInput

MIN_PASSWORD = 8
_PKCS12_KEYS = (
    rsa.RSAPrivateKey,
    ec.EllipticCurvePrivateKey,
    ed25519.Ed25519PrivateKey,
    ed448.Ed448PrivateKey,
    dsa.DSAPrivateKey,
)


def key_der(key: PrivateKeyTypes) -> bytes:
    """PKCS#8 DER: what is sealed."""
    return key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def load_key(raw: bytes) -> PrivateKeyTypes:
    try:
        return serialization.load_der_private_key(raw, None)
    except Exception:  # it opened under its binding, so this is our own data broken
        raise InternalError() from None


def export(
    fmt: Literal["pem", "pkcs12"],
    cert: x509.Certificate,
    issuers: Sequence[x509.Certificate],
    raw_key: bytes,
    password: str | None,
) -> bytes:
    key = load_key(raw_key)
    if password is not None and len(password) < MIN_PASSWORD:
        raise InvalidInput("password too short", minLength=MIN_PASSWORD)
    if fmt == "pkcs12":
        if not password:
            raise InvalidInput("a PKCS#12 export needs a password", minLength=MIN_PASSWORD)
        if not isinstance(key, _PKCS12_KEYS):
            raise InvalidInput("key type cannot be exported as PKCS#12")
        return pkcs12.serialize_key_and_certificates(
            b"strongroom",
            key,
            cert,
            list(issuers) or None,
            serialization.BestAvailableEncryption(password.encode()),
        )
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password.encode())
        if password
        else serialization.NoEncryption()
    )
    pem_key = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )
    certs = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in (cert, *issuers))
    return pem_key + certs
