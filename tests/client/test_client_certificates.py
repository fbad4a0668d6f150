"""Certificates through the client, sync and async, against a real service: import,
list by SAN, read, export as PKCS#12 (and back), revoke; typed errors for the
certificate codes (the internal CA is off in this service)."""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.serialization import pkcs12

from strongroom_client.errors import (
    CertificateAuthorityDisabledError,
    CertificateNotFoundError,
    CertificatePasswordError,
)
from tests.api.certificate_helpers import EPOCH, key_pem, leaf, make_ca, pem


async def test_inventory_through_the_client(sr: Any) -> None:
    ca = make_ca("Client CA")
    cert, key = leaf(ca, "sdk.example.com", ["sdk.example.com"], EPOCH, EPOCH + timedelta(days=30))
    done = await sr.certificates.import_pem(pem(cert) + key_pem(key))
    fp = done["leaf"]
    page = await sr.certificates.list(san="sdk.example.com")
    assert fp in [c["fingerprint"] for c in page["items"]]
    assert (await sr.certificates.get(fp))["hasPrivateKey"] is True
    out = await sr.certificates.export(fp, "pkcs12", "client-pass")
    back = pkcs12.load_pkcs12(base64.b64decode(out["data"]), b"client-pass")
    assert back.cert is not None and back.cert.certificate == cert
    again = await sr.certificates.import_pkcs12(base64.b64decode(out["data"]), "client-pass")
    assert again["leaf"] == fp and again["created"] == [False]
    with pytest.raises(CertificatePasswordError):
        await sr.certificates.import_pkcs12(base64.b64decode(out["data"]), "wrong-pass")
    assert (await sr.certificates.revoke(fp, "superseded"))["revokedAt"] is not None
    with pytest.raises(CertificateNotFoundError):
        await sr.certificates.get("ab" * 32)
    with pytest.raises(CertificateAuthorityDisabledError):
        await sr.authorities.crl("root")
