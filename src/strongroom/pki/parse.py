"""Reading what a caller imports: PEM (certificates, chains, PKCS#7, private keys),
DER, PKCS#12. Pure: bytes in, ``cryptography`` objects out, or a stable 4xx error
(``pki/errors.py``) whose message never echoes the input."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.hazmat.primitives.serialization import pkcs7, pkcs12

from strongroom.pki.der_guard import check_rounds
from strongroom.pki.errors import BadCertificate, BadPassword, BundleTooLarge

T = TypeVar("T")
_SHA256 = hashes.SHA256()
MAX_CERTIFICATES = 50  # per bundle: a chain is a handful; more is a mistake or abuse
_LABEL = re.compile(rb"[A-Z0-9 ]{1,40}")
_BEGIN, _DASHES = b"-----BEGIN ", b"-----"
_CERT_LABELS = {b"CERTIFICATE", b"X509 CERTIFICATE", b"TRUSTED CERTIFICATE"}
_KEY_LABELS = {
    b"PRIVATE KEY",
    b"ENCRYPTED PRIVATE KEY",
    b"RSA PRIVATE KEY",
    b"EC PRIVATE KEY",
    b"DSA PRIVATE KEY",
}
_PKCS7_LABELS = {b"PKCS7", b"CMS"}


@dataclass(frozen=True)
class Bundle:
    """The certificates of one import, in the given order without duplicates, and the
    private key that came with them (if any)."""

    certificates: tuple[x509.Certificate, ...]
    key: PrivateKeyTypes | None = None


def parse_pem(data: bytes, password: bytes | None, max_bytes: int) -> Bundle:
    _size(data, max_bytes)
    certs: list[x509.Certificate] = []
    key: PrivateKeyTypes | None = None
    for label, block in _blocks(data):
        if label in _CERT_LABELS:
            certs.append(_guard(x509.load_pem_x509_certificate, block))
        elif label in _PKCS7_LABELS:
            certs += _guard(pkcs7.load_pem_pkcs7_certificates, block)
        elif label in _KEY_LABELS:
            if key is not None:
                raise BadCertificate("more than one private key")
            key = _load_key(block, password)
        else:
            raise BadCertificate("unsupported PEM block")
    return _bundle(certs, key)


def _blocks(data: bytes) -> Iterator[tuple[bytes, bytes]]:
    """(label, block) of each PEM block, in one forward pass (a regular expression
    with a lazy match and a back-reference took seconds on 256 KiB of BEGIN lines)."""
    pos, count = 0, 0
    while (start := data.find(_BEGIN, pos)) >= 0:
        count += 1
        if count > 2 * MAX_CERTIFICATES:
            raise BundleTooLarge(limit=MAX_CERTIFICATES)
        label_end = data.find(_DASHES, start + len(_BEGIN))
        label = data[start + len(_BEGIN) : label_end] if label_end >= 0 else b""
        if not _LABEL.fullmatch(label):
            raise BadCertificate("unsupported PEM block")
        end_marker = b"-----END " + label + _DASHES
        end = data.find(end_marker, label_end)
        if end < 0:
            raise BadCertificate()
        pos = end + len(end_marker)
        yield label, data[start:pos]


def parse_der(data: bytes, max_bytes: int) -> Bundle:
    """One DER certificate, or a DER PKCS#7 bag of them."""
    _size(data, max_bytes)
    try:
        return _bundle([x509.load_der_x509_certificate(data)], None)
    except ValueError:
        pass
    return _bundle(_guard(pkcs7.load_der_pkcs7_certificates, data), None)


def parse_pkcs12(data: bytes, password: bytes | None, max_bytes: int) -> Bundle:
    _size(data, max_bytes)
    check_rounds(data)  # before the library spends them
    try:
        p12 = pkcs12.load_pkcs12(data, password)
    except (ValueError, TypeError):
        # cryptography gives one error for a wrong password and for garbage: a
        # well-formed PFX envelope means the password was the problem.
        raise (BadPassword() if _looks_like_pfx(data) else BadCertificate()) from None
    except Exception:  # unsupported algorithms inside a valid envelope
        raise BadCertificate() from None
    certs = ([p12.cert.certificate] if p12.cert else []) + [
        c.certificate for c in p12.additional_certs
    ]
    return _bundle(certs, p12.key)


def _load_key(block: bytes, password: bytes | None) -> PrivateKeyTypes:
    encrypted = b"ENCRYPTED" in block[:40] or b"Proc-Type: 4,ENCRYPTED" in block
    if encrypted and not password:
        raise BadPassword()
    if block.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----"):
        body = b"".join(block.splitlines()[1:-1])
        try:
            check_rounds(base64.b64decode(body, validate=True))
        except binascii.Error:
            raise BadCertificate() from None
    try:
        return serialization.load_pem_private_key(block, password if encrypted else None)
    except (ValueError, TypeError):
        raise (BadPassword() if encrypted else BadCertificate()) from None
    except Exception:
        raise BadCertificate() from None


def _bundle(certs: list[x509.Certificate], key: PrivateKeyTypes | None) -> Bundle:
    seen: dict[bytes, x509.Certificate] = {}
    for c in certs:
        seen.setdefault(c.fingerprint(_SHA256), c)
    if not seen:
        raise BadCertificate("no certificate found")
    if len(seen) > MAX_CERTIFICATES:
        raise BundleTooLarge(limit=MAX_CERTIFICATES)
    return Bundle(tuple(seen.values()), key)


def _size(data: bytes, max_bytes: int) -> None:
    if len(data) > max_bytes:
        raise BundleTooLarge(limit=max_bytes)
    if not data:
        raise BadCertificate("empty input")


def _guard(load: Callable[[bytes], T], data: bytes) -> T:
    try:
        return load(data)
    except Exception:  # any parse failure of untrusted bytes is the caller's 400
        raise BadCertificate() from None


def _looks_like_pfx(data: bytes) -> bool:
    """``SEQUENCE { INTEGER 3, ... }``: the PFX envelope (RFC 7292), before any crypto."""
    if len(data) < 8 or data[0] != 0x30:
        return False
    n = data[1]
    offset = 2 if n < 0x80 else 2 + (n & 0x7F)
    return data[offset : offset + 3] == b"\x02\x01\x03"
