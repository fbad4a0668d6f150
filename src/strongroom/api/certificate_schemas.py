"""Request and response shapes of the certificate routes (api/routers/certificates.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.json_schema import SkipJsonSchema

from strongroom.api.certificate_examples import (
    EXAMPLE_AUTHORITY,
    EXAMPLE_CERT,
    EXAMPLE_DETAIL,
    EXAMPLE_ROLE,
    FP,
    PEM,
)
from strongroom.api.schemas import Days, Strict, Timestamp, examples
from strongroom.pki.models import CertificateView
from strongroom.pki.policy import RolePolicy

Fingerprint = Annotated[str, Field(pattern=r"^[0-9a-fA-F:]{64,95}$", examples=["a3" * 32])]
Password = Annotated[str, Field(max_length=1024)]
KeyType = Literal["ec-p256", "ec-p384", "rsa-2048", "rsa-3072", "rsa-4096", "ed25519"]
Name = Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{0,63}$")]
# pki/policy.py's KEY_USAGES and EXT_KEY_USAGES (a test checks they agree).
KeyUsage = Literal[
    "digitalSignature", "contentCommitment", "keyEncipherment", "dataEncipherment", "keyAgreement"
]
ExtKeyUsage = Literal[
    "serverAuth", "clientAuth", "codeSigning", "emailProtection", "timeStamping", "ocspSigning"
]
Reason = Literal[
    "unspecified",
    "keyCompromise",
    "caCompromise",
    "affiliationChanged",
    "superseded",
    "cessationOfOperation",
    "certificateHold",
    "privilegeWithdrawn",
]


class CertificateImportRequest(Strict):
    """Exactly one of ``pem`` (text: certificates, a chain, PKCS#7, optionally one
    private key), ``der`` (base64) or ``pkcs12`` (base64)."""

    model_config = ConfigDict(
        strict=True,
        extra="forbid",
        json_schema_extra={
            "examples": [{"pem": "-----BEGIN CERTIFICATE-----\n..."}],
            "oneOf": [{"required": ["pem"]}, {"required": ["der"]}, {"required": ["pkcs12"]}],
        },
    )
    # Not nullable in the schema: a field is either given, or absent.
    pem: Annotated[str, Field(min_length=1, max_length=1_000_000)] | SkipJsonSchema[None] = None
    der: Annotated[str, Field(min_length=1, max_length=1_400_000)] | SkipJsonSchema[None] = None
    pkcs12: Annotated[str, Field(min_length=1, max_length=1_400_000)] | SkipJsonSchema[None] = None
    password: Password | None = Field(
        default=None, description="Of the PKCS#12, or of an encrypted PEM private key"
    )
    renews: Fingerprint | None = Field(
        default=None,
        description="Fingerprint of the certificate this one renews (else detected by "
        "subject and SANs)",
    )

    @model_validator(mode="after")
    def _one(self) -> CertificateImportRequest:
        if sum(x is not None for x in (self.pem, self.der, self.pkcs12)) != 1:
            raise ValueError("give exactly one of pem, der, pkcs12")
        return self


class CertificateSanOut(BaseModel):
    type: str
    value: str


class CertificateOut(BaseModel):
    model_config = examples(EXAMPLE_CERT)
    fingerprint: str = Field(description="SHA-256 of the DER, hex: the certificate's id")
    subject: str
    issuer: str
    serialNumber: str
    keyAlgorithm: str
    keySize: int
    notBefore: datetime
    notAfter: datetime
    sans: list[CertificateSanOut]
    isCa: bool
    source: str = Field(description="import, issued (internal CA) or authority")
    hasPrivateKey: bool
    keyReused: bool = Field(description="A renewal that kept its predecessor's key")
    revokedAt: datetime | None = None
    revocationReason: str | None = None
    issuerFingerprint: str | None = Field(
        default=None, description="The issuer's certificate, when in the inventory"
    )
    renewedFrom: str | None = None
    renewedBy: str | None = None
    createdAt: datetime

    @classmethod
    def of(cls, v: CertificateView) -> CertificateOut:
        return cls(**_fields(v))


class CertificateDetail(CertificateOut):
    model_config = examples(EXAMPLE_DETAIL)
    pem: str
    chain: list[str] = Field(description="Issuers' fingerprints, up the chain")

    @classmethod
    def of(cls, v: CertificateView) -> CertificateDetail:
        return cls(**_fields(v), pem=v.pem, chain=list(v.chain))


def _fields(v: CertificateView) -> dict[str, Any]:
    return {
        "fingerprint": v.fingerprint,
        "subject": v.subject,
        "issuer": v.issuer,
        "serialNumber": v.serial,
        "keyAlgorithm": v.key_algorithm,
        "keySize": v.key_size,
        "notBefore": v.not_before,
        "notAfter": v.not_after,
        "sans": [CertificateSanOut(type=k, value=val) for k, val in v.sans],
        "isCa": v.is_ca,
        "source": v.source,
        "hasPrivateKey": v.has_key,
        "keyReused": v.key_reused,
        "revokedAt": v.revoked_at,
        "revocationReason": v.revocation_reason,
        "issuerFingerprint": v.issuer_fingerprint,
        "renewedFrom": v.renewed_from,
        "renewedBy": v.renewed_by,
        "createdAt": v.created_at,
    }


class CertificateImportOut(BaseModel):
    model_config = examples({"leaf": FP, "certificates": [EXAMPLE_CERT], "created": [True]})
    leaf: str = Field(description="Fingerprint of the bundle's end-entity certificate")
    certificates: list[CertificateOut]
    created: list[bool] = Field(description="Per certificate: new (true) or already held")


class CertificateList(BaseModel):
    model_config = examples({"items": [EXAMPLE_CERT], "nextCursor": None})
    items: list[CertificateOut]
    nextCursor: str | None = None


class CertificateListQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    expiresBefore: Timestamp | None = None
    issuer: Annotated[str | None, Field(min_length=1, max_length=256)] = Field(
        default=None, description="Case-insensitive part of the issuer's name"
    )
    san: Annotated[str | None, Field(min_length=1, max_length=512)] = Field(
        default=None, description="A host name, IP, e-mail or URI the certificate covers"
    )
    # 11 digits: every such second is a date Python represents (12 reach year 13,000).
    cursor: Annotated[str | None, Field(pattern=r"^[0-9]{1,11}-[0-9a-f]{64}$")] = Field(
        default=None, description="nextCursor of the previous page"
    )
    limit: Annotated[int, Field(ge=1, le=500)] = 100


class CertificateExportRequest(Strict):
    model_config = examples({"format": "pkcs12", "password": "correct horse battery"})
    format: Literal["pem", "pkcs12"] = "pem"
    password: Annotated[str, Field(min_length=8, max_length=1024)] | None = Field(
        default=None, description="Encrypts the key (required for pkcs12)"
    )


class CertificateExportOut(BaseModel):
    model_config = examples({"fingerprint": FP, "format": "pkcs12", "data": "MIIJ..."})
    fingerprint: str
    format: str
    data: str = Field(description="PEM text, or base64 of the PKCS#12")


class CertificateRevokeRequest(Strict):
    model_config = examples({"reason": "keyCompromise"})
    reason: Reason = "unspecified"


class CertificateAuthorityRequest(Strict):
    model_config = examples({"name": "internal", "commonName": "Acme Internal CA"})
    name: Name
    commonName: Annotated[str, Field(min_length=1, max_length=64)]
    keyType: KeyType = "ec-p256"
    ttlDays: Days = 3650
    parent: Name | None = Field(default=None, description="Issuing CA: an intermediate")


class CertificateAuthorityOut(BaseModel):
    model_config = examples(EXAMPLE_AUTHORITY)
    name: str
    parent: str | None
    certificate: CertificateOut
    chainPem: str


class CertificateAuthorityList(BaseModel):
    model_config = examples({"items": [EXAMPLE_AUTHORITY]})
    items: list[CertificateAuthorityOut]


def _default_usage() -> list[KeyUsage]:
    return ["digitalSignature", "keyEncipherment"]


def _default_eku() -> list[ExtKeyUsage]:
    return ["serverAuth"]


class CertificateRoleRequest(Strict):
    model_config = examples(
        {"allowedDomains": ["example.com"], "allowSubdomains": True, "maxTtlDays": 30}
    )
    allowedDomains: list[Annotated[str, Field(min_length=1, max_length=253)]] = Field(
        default_factory=list, max_length=100
    )
    allowSubdomains: bool = False
    allowBareDomains: bool = True
    allowWildcards: bool = False
    allowIpSans: bool = False
    maxTtlDays: Days = 90
    keyUsage: list[KeyUsage] = Field(default_factory=_default_usage, max_length=5)
    extKeyUsage: list[ExtKeyUsage] = Field(default_factory=_default_eku, max_length=6)
    keyTypes: list[KeyType] = Field(
        default_factory=list, max_length=6, description="Subject key types allowed (none: any)"
    )

    def policy(self) -> RolePolicy:
        return RolePolicy(
            allowed_domains=tuple(d.lower() for d in self.allowedDomains),
            allow_subdomains=self.allowSubdomains,
            allow_bare_domains=self.allowBareDomains,
            allow_wildcards=self.allowWildcards,
            allow_ip_sans=self.allowIpSans,
            max_ttl_days=self.maxTtlDays,
            key_usage=tuple(self.keyUsage),
            ext_key_usage=tuple(self.extKeyUsage),
            key_types=tuple(self.keyTypes),
        )


class CertificateRoleOut(CertificateRoleRequest):
    model_config = ConfigDict(
        strict=True,
        extra="forbid",
        json_schema_extra={"examples": [{"name": "web", **EXAMPLE_ROLE}]},
    )
    name: str

    @classmethod
    def of(cls, name: str, p: RolePolicy) -> CertificateRoleOut:
        return cls.model_validate(
            {
                "name": name,
                "allowedDomains": list(p.allowed_domains),
                "allowSubdomains": p.allow_subdomains,
                "allowBareDomains": p.allow_bare_domains,
                "allowWildcards": p.allow_wildcards,
                "allowIpSans": p.allow_ip_sans,
                "maxTtlDays": p.max_ttl_days,
                "keyUsage": list(p.key_usage),
                "extKeyUsage": list(p.ext_key_usage),
                "keyTypes": list(p.key_types),
            }
        )


class CertificateRoleList(BaseModel):
    model_config = examples({"items": [{"name": "web", **EXAMPLE_ROLE}]})
    items: list[CertificateRoleOut]


class CertificateIssueRequest(Strict):
    model_config = examples(
        {"role": "web", "commonName": "www.example.com", "dnsNames": ["www.example.com"]}
    )
    role: Name
    csr: Annotated[str | None, Field(max_length=65536)] = Field(
        default=None, description="PEM CSR; without one a key is generated and returned once"
    )
    commonName: Annotated[str | None, Field(min_length=1, max_length=64)] = None
    dnsNames: list[Annotated[str, Field(min_length=1, max_length=253)]] = Field(
        default_factory=list, max_length=100
    )
    ipAddresses: list[Annotated[str, Field(min_length=2, max_length=45)]] = Field(
        default_factory=list, max_length=20
    )
    ttlDays: Days | None = None
    notAfter: Timestamp | None = Field(default=None, description="Exact end (else ttlDays)")
    keyType: KeyType = "ec-p256"


class IssuedCertificateOut(BaseModel):
    model_config = examples({"certificate": EXAMPLE_DETAIL, "chainPem": PEM, "privateKeyPem": None})
    certificate: CertificateDetail
    chainPem: str = Field(description="The issuing CA and its issuers")
    privateKeyPem: str | None = Field(
        default=None, description="Only for a generated key; shown once, also stored sealed"
    )
