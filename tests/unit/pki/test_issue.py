"""Whatever names, addresses and lifetimes an issuance asks for, the answer is a
certificate within the role or a 4xx refusal with its reason, never another error."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import get_args

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from hypothesis import given, settings
from hypothesis import strategies as st

from strongroom.api.certificate_schemas import KeyType
from strongroom.errors import StrongroomError
from strongroom.pki import signing
from strongroom.pki.errors import IssuanceRefused
from strongroom.pki.issue import IssueRequest
from strongroom.pki.policy import RolePolicy

NOW = datetime(2027, 1, 1, tzinfo=UTC)
KEY = signing.generate("ec-p256")
CA = signing.ca_certificate(signing.name("Root"), KEY, NOW, NOW + timedelta(days=60), None, None)
ROLE = RolePolicy(
    allowed_domains=("example.com",),
    allow_subdomains=True,
    allow_wildcards=True,
    allow_ip_sans=True,
    max_ttl_days=30,
)
names = st.one_of(
    st.text(max_size=70),
    st.from_regex(r"[a-z0-9*.-]{0,20}\.example\.com", fullmatch=True),
    st.sampled_from(["example.com", "*.example.com", "a.example.com", "EXAMPLE.com"]),
)


@settings(max_examples=300, deadline=None)
@given(
    cn=st.none() | names,
    dns=st.lists(names, max_size=3),
    ips=st.lists(st.text(max_size=40) | st.ip_addresses().map(str), max_size=2),
    ttl=st.none() | st.integers(min_value=1, max_value=100),
)
def test_issue_answers_a_certificate_or_a_refusal(
    cn: str | None, dns: list[str], ips: list[str], ttl: int | None
) -> None:
    req = IssueRequest(common_name=cn, dns_sans=tuple(dns), ip_sans=tuple(ips), ttl_days=ttl)
    try:
        cert, key = req.build(ROLE, CA, KEY, NOW)
    except StrongroomError as exc:
        assert 400 <= exc.status < 500
        return
    assert key is not None and cert.not_valid_after_utc <= NOW + timedelta(days=30)
    assert cert.not_valid_after_utc <= CA.not_valid_after_utc


def test_a_host_name_too_long_for_a_cn_goes_in_the_san_only() -> None:
    long_host = "a" * 60 + ".b" * 5 + ".example.com"
    cert, _ = IssueRequest(dns_sans=(long_host,)).build(ROLE, CA, KEY, NOW)
    assert len(cert.subject) == 0
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    assert san.critical and san.value.get_values_for_type(x509.DNSName) == [long_host]
    short, _ = IssueRequest(dns_sans=("a.example.com",)).build(ROLE, CA, KEY, NOW)
    assert short.subject.rfc4514_string() == "CN=a.example.com"


def test_a_role_may_limit_the_subject_key_type() -> None:
    role = RolePolicy(
        allowed_domains=("example.com",),
        allow_subdomains=True,
        max_ttl_days=30,
        key_types=("ec-p256",),
    )
    names = ("a.example.com",)
    cert, _ = IssueRequest(dns_sans=names, key_type="ec-p256").build(role, CA, KEY, NOW)
    assert isinstance(cert.public_key(), ec.EllipticCurvePublicKey)
    with pytest.raises(IssuanceRefused) as refused:
        IssueRequest(dns_sans=names, key_type="ed25519").build(role, CA, KEY, NOW)
    assert refused.value.detail == {"reason": "keyTypes"}
    other = rsa.generate_private_key(65537, 2048)
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([]))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("a.example.com")]), False)
        .sign(other, hashes.SHA256())
        .public_bytes(serialization.Encoding.PEM)
        .decode()
    )
    with pytest.raises(IssuanceRefused):
        IssueRequest(csr_pem=csr).build(role, CA, KEY, NOW)
    assert IssueRequest(csr_pem=csr).build(ROLE, CA, KEY, NOW)[1] is None  # any key type


def test_the_api_names_every_key_type() -> None:
    assert set(get_args(KeyType)) == set(signing.KEY_TYPES)
