"""What an internal CA's role allows (pure): names, lifetime, key usage, extended key
usage. A request outside it is refused with the reason, never trimmed to fit."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from strongroom.pki.errors import IssuanceRefused
from strongroom.pki.signing import KEY_TYPES

KEY_USAGES = (
    "digitalSignature",
    "contentCommitment",
    "keyEncipherment",
    "dataEncipherment",
    "keyAgreement",
)
# A host name of letter-digit-hyphen labels (what a TLS client can match), with at
# most one leading wildcard label; IDNs as their A-labels (xn--...).
_LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
HOSTNAME = re.compile(rf"^(\*\.)?{_LABEL}(\.{_LABEL})*$")
EXT_KEY_USAGES: dict[str, x509.ObjectIdentifier] = {
    "serverAuth": ExtendedKeyUsageOID.SERVER_AUTH,
    "clientAuth": ExtendedKeyUsageOID.CLIENT_AUTH,
    "codeSigning": ExtendedKeyUsageOID.CODE_SIGNING,
    "emailProtection": ExtendedKeyUsageOID.EMAIL_PROTECTION,
    "timeStamping": ExtendedKeyUsageOID.TIME_STAMPING,
    "ocspSigning": ExtendedKeyUsageOID.OCSP_SIGNING,
}


@dataclass(frozen=True)
class RolePolicy:
    allowed_domains: tuple[str, ...] = ()
    allow_subdomains: bool = False
    allow_bare_domains: bool = True
    allow_wildcards: bool = False
    allow_ip_sans: bool = False
    max_ttl_days: int = 90
    key_usage: tuple[str, ...] = ("digitalSignature", "keyEncipherment")
    ext_key_usage: tuple[str, ...] = ("serverAuth",)
    key_types: tuple[str, ...] = ()  # signing.KEY_TYPES the subject key may be; () any

    def __post_init__(self) -> None:
        if not 1 <= self.max_ttl_days <= 3650:
            raise IssuanceRefused(reason="maxTtlDays")
        if any(u not in KEY_USAGES for u in self.key_usage):
            raise IssuanceRefused(reason="keyUsage")
        if any(u not in EXT_KEY_USAGES for u in self.ext_key_usage):
            raise IssuanceRefused(reason="extKeyUsage")
        if any(t not in KEY_TYPES for t in self.key_types):
            raise IssuanceRefused(reason="keyTypes")
        if any(not HOSTNAME.match(d) or "*" in d or len(d) > 253 for d in self.allowed_domains):
            raise IssuanceRefused(reason="allowedDomains")

    def stored(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def load(cls, raw: dict[str, Any]) -> RolePolicy:
        values: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()}
        return cls(**values)

    # checks ------------------------------------------------------------------
    def check_names(self, dns: list[str], ips: list[str]) -> None:
        if ips and not self.allow_ip_sans:
            raise IssuanceRefused(reason="ipSans")
        for ip in ips:
            try:
                ipaddress.ip_address(ip)
            except ValueError:
                raise IssuanceRefused(reason="ipSans") from None
        if not dns and not ips:
            raise IssuanceRefused(reason="noNames")
        for name in dns:
            if len(name) > 253 or not HOSTNAME.match(name.lower()):
                raise IssuanceRefused(reason="names")
            if not self._dns_allowed(name.lower()):
                raise IssuanceRefused(reason="names")

    def _dns_allowed(self, name: str) -> bool:
        if name.startswith("*."):
            if not self.allow_wildcards:
                return False
            name = name[2:]
            # a wildcard covers subdomains: it needs them allowed, or the bare parent
            return any(
                (self.allow_subdomains and name.endswith("." + d))
                or (name == d and self.allow_subdomains)
                for d in self.allowed_domains
            )
        for d in self.allowed_domains:
            if name == d and self.allow_bare_domains:
                return True
            if self.allow_subdomains and name.endswith("." + d):
                return True
        return False

    def check_key(self, key_type: str) -> None:
        """``key_type`` as ``signing.type_of`` names it (``rsa-3072``, ``ec-p256``)."""
        if self.key_types and key_type not in self.key_types:
            raise IssuanceRefused(reason="keyTypes")

    def check_lifetime(
        self, not_before: datetime, not_after: datetime, issuer_end: datetime
    ) -> None:
        if not_after <= not_before:
            raise IssuanceRefused(reason="lifetime")
        if not_after - not_before > timedelta(days=self.max_ttl_days):
            raise IssuanceRefused(reason="maxTtlDays")
        if not_after > issuer_end:  # refused, not truncated to the issuer's end
            raise IssuanceRefused(reason="notAfterBeyondIssuer")

    def key_usage_ext(self) -> x509.KeyUsage:
        u = set(self.key_usage)
        return x509.KeyUsage(
            digital_signature="digitalSignature" in u,
            content_commitment="contentCommitment" in u,
            key_encipherment="keyEncipherment" in u,
            data_encipherment="dataEncipherment" in u,
            key_agreement="keyAgreement" in u,
            key_cert_sign=False,
            crl_sign=False,
            encipher_only=False,
            decipher_only=False,
        )

    def ext_key_usage_ext(self) -> x509.ExtendedKeyUsage | None:
        if not self.ext_key_usage:
            return None
        return x509.ExtendedKeyUsage([EXT_KEY_USAGES[u] for u in self.ext_key_usage])
