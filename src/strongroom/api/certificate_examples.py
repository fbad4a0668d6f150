"""Examples of the certificate schemas in the OpenAPI document."""

from __future__ import annotations

from typing import Any

FP = "9f" * 32
EXAMPLE_CERT: dict[str, Any] = {
    "fingerprint": FP,
    "subject": "CN=www.example.com",
    "issuer": "CN=Acme Issuing,O=Acme",
    "serialNumber": "4c1d0e",
    "keyAlgorithm": "ec",
    "keySize": 256,
    "notBefore": "2026-12-01T00:00:00Z",
    "notAfter": "2027-03-01T00:00:00Z",
    "sans": [{"type": "dns", "value": "www.example.com"}],
    "isCa": False,
    "source": "import",
    "hasPrivateKey": True,
    "keyReused": False,
    "revokedAt": None,
    "revocationReason": None,
    "issuerFingerprint": "a3" * 32,
    "renewedFrom": None,
    "renewedBy": None,
    "createdAt": "2026-12-02T10:00:00Z",
}
PEM = "-----BEGIN CERTIFICATE-----\nMIIB...\n-----END CERTIFICATE-----\n"
EXAMPLE_DETAIL = {**EXAMPLE_CERT, "pem": PEM, "chain": ["a3" * 32]}
EXAMPLE_ROLE: dict[str, Any] = {
    "allowedDomains": ["example.com"],
    "allowSubdomains": True,
    "allowBareDomains": True,
    "allowWildcards": False,
    "allowIpSans": False,
    "maxTtlDays": 30,
    "keyUsage": ["digitalSignature", "keyEncipherment"],
    "extKeyUsage": ["serverAuth"],
    "keyTypes": ["ec-p256", "rsa-3072"],
}
EXAMPLE_AUTHORITY = {
    "name": "issuing",
    "parent": "root",
    "certificate": {**EXAMPLE_CERT, "isCa": True, "source": "authority"},
    "chainPem": PEM,
}
