"""One issuance request (pure): the names and lifetime asked for, a CSR or a key to
generate, checked against the role and the issuer, then the signed leaf."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.types import (
    CertificateIssuerPrivateKeyTypes,
    CertificatePublicKeyTypes,
)

from strongroom.pki import signing
from strongroom.pki.errors import IssuanceRefused
from strongroom.pki.facts import utc
from strongroom.pki.policy import RolePolicy

BACKDATE = timedelta(minutes=1)


@dataclass(frozen=True)
class IssueRequest:
    csr_pem: str | None = None
    common_name: str | None = None
    dns_sans: tuple[str, ...] = ()
    ip_sans: tuple[str, ...] = ()
    ttl_days: int | None = None
    not_after: datetime | None = None  # exact end instead of ttl_days
    key_type: str = "ec-p256"

    def build(
        self,
        policy: RolePolicy,
        ca_cert: x509.Certificate,
        ca_key: CertificateIssuerPrivateKeyTypes,
        now: datetime,
    ) -> tuple[x509.Certificate, CertificateIssuerPrivateKeyTypes | None]:
        if self.csr_pem is None:
            policy.check_key(self.key_type)  # before generating it
        public, cn, dns, ips, key = self._subject()
        policy.check_key(signing.type_of(public))
        policy.check_names(dns, ips)
        if cn is not None and cn.lower() not in {d.lower() for d in dns} | set(ips):
            policy.check_names([cn], [])  # a CN outside the SANs must be allowed too
        if self.not_after is not None:
            not_after = utc(self.not_after)
        else:
            not_after = now + timedelta(days=self.ttl_days or policy.max_ttl_days)
        # The role's lifetime counts from now; the backdating is not the caller's.
        policy.check_lifetime(now, not_after, ca_cert.not_valid_after_utc)
        try:
            return self._sign(policy, ca_cert, ca_key, public, cn, dns, ips, not_after, now), key
        except ValueError:  # a name cryptography refuses that the checks let through
            raise IssuanceRefused(reason="names") from None

    def _sign(
        self,
        policy: RolePolicy,
        ca_cert: x509.Certificate,
        ca_key: CertificateIssuerPrivateKeyTypes,
        public: CertificatePublicKeyTypes,
        cn: str | None,
        dns: list[str],
        ips: list[str],
        not_after: datetime,
        now: datetime,
    ) -> x509.Certificate:
        first = cn or (dns or ips)[0]
        # A host name too long for a CN and no CN asked for: no CN, the SAN names it.
        long_name = cn is None and len(first.encode()) > 64
        subject = x509.Name([]) if long_name else signing.name(first)
        sans: list[x509.GeneralName] = [x509.DNSName(d) for d in dns]
        sans += [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(ca_cert.subject)
            .public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - BACKDATE)
            .not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(policy.key_usage_ext(), critical=True)
            # RFC 5280: with an empty subject the SANs carry the identity, critical.
            .add_extension(x509.SubjectAlternativeName(sans), critical=not subject)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                critical=False,
            )
        )
        eku = policy.ext_key_usage_ext()
        if eku is not None:
            builder = builder.add_extension(eku, critical=False)
        return builder.sign(ca_key, signing.digest(ca_key))

    def _subject(
        self,
    ) -> tuple[
        CertificatePublicKeyTypes,
        str | None,
        list[str],
        list[str],
        CertificateIssuerPrivateKeyTypes | None,
    ]:
        """(public key, CN, DNS names, IPs, generated key or None for a CSR). Names
        given in the request win over the CSR's."""
        if self.csr_pem is not None:
            csr = signing.read_csr(self.csr_pem)
            cn, dns, ips = signing.csr_names(csr)
            return (
                signing.public_of(csr),
                self.common_name or cn,
                list(self.dns_sans) or dns,
                list(self.ip_sans) or ips,
                None,
            )
        if self.common_name is None and not self.dns_sans and not self.ip_sans:
            raise IssuanceRefused(reason="noNames")
        key = signing.generate(self.key_type)
        return key.public_key(), self.common_name, list(self.dns_sans), list(self.ip_sans), key
