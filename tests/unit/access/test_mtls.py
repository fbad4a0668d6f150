"""Client certificate -> principal mapping and re-verification of forwarded chains."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID
from pydantic import ValidationError
from tests.pki import Issued, issue, make_ca, self_signed_client

from strongroom.access.mtls import (
    ClientCertificates,
    build_client_certificates,
    fingerprint,
    identities,
    normalize_identity,
    parse_bindings,
    parse_networks,
)
from strongroom.config import Settings
from strongroom.errors import InternalError

DNS = x509.DNSName
URI = x509.UniformResourceIdentifier
EMAIL = x509.RFC822Name


@pytest.fixture(scope="module")
def ca() -> Issued:
    return make_ca()


def certs(ca: Issued, bindings: dict[str, dict[str, str | list[str]]]) -> ClientCertificates:
    return ClientCertificates(
        parse_bindings(bindings), [ca.cert], proxies=parse_networks(["10.0.0.0/8"])
    )


BINDINGS: dict[str, dict[str, str | list[str]]] = {
    "dns:Svc.Example.com": {"tenant": "acme", "roles": ["encrypt-only"]},
    "uri:spiffe://example.org/ns/prod/sa/ingest": {"tenant": "acme", "roles": ["key-admin"]},
    "email:Ops@example.com": {"tenant": "beta", "roles": ["auditor"], "subject": "ops"},
}


def test_exact_san_dns_uri_email_map_to_principals(ca: Issued) -> None:
    m = certs(ca, BINDINGS)
    dns = m.principal(issue(ca, "x", sans=[DNS("svc.example.COM")]).cert)
    assert dns is not None and (dns.id, dns.tenant, dns.roles) == (
        "dns:svc.example.com",
        "acme",
        ("encrypt-only",),
    )
    uri = m.principal(issue(ca, "x", sans=[URI("spiffe://example.org/ns/prod/sa/ingest")]).cert)
    assert uri is not None and uri.roles == ("key-admin",)
    email = m.principal(issue(ca, "x", sans=[EMAIL("Ops@example.com")]).cert)
    assert email is not None and (email.id, email.tenant) == ("ops", "beta")


def test_fingerprint_maps(ca: Issued) -> None:
    client = issue(ca, "no-san")
    fp = fingerprint(client.cert)
    colons = ":".join(fp[i : i + 2] for i in range(0, 64, 2)).upper()
    m = certs(ca, {f"sha256:{colons}": {"tenant": "acme", "roles": ["auditor"]}})
    who = m.principal(client.cert)
    assert who is not None and who.id == f"sha256:{fp}"
    assert m.principal(issue(ca, "no-san").cert) is None  # same name, other certificate


@pytest.mark.parametrize(
    "cn, sans",
    [
        ("svc.example.com", []),  # CN-only lookalike: the CN is never read
        ("svc.example.com", [DNS("svc.example.com.evil.net")]),
        ("x", [DNS("evil-svc.example.com")]),
        ("x", [URI("spiffe://example.org/ns/prod/sa/ingest/extra")]),
        ("x", [EMAIL("ops@example.com")]),  # local part is exact
        ("x", [URI("svc.example.com")]),  # a URI is not a DNS name
    ],
)
def test_lookalikes_and_unmapped_map_to_nothing(
    ca: Issued, cn: str, sans: list[x509.GeneralName]
) -> None:
    assert certs(ca, BINDINGS).principal(issue(ca, cn, sans=sans).cert) is None


def test_two_bindings_for_one_certificate_is_ambiguous(ca: Issued) -> None:
    cert = issue(ca, "x", sans=[DNS("svc.example.com"), EMAIL("Ops@example.com")]).cert
    assert certs(ca, BINDINGS).principal(cert) is None
    assert identities(cert)[0] == f"sha256:{fingerprint(cert)}"


@pytest.mark.parametrize(
    "identity", ["cn:svc", "dns:", "svc.example.com", "sha256:abcd", "sha256:" + "g" * 64]
)
def test_bad_identities_are_refused(identity: str) -> None:
    with pytest.raises(ValueError):
        normalize_identity(identity)


@pytest.mark.parametrize(
    "spec",
    [{"roles": ["auditor"]}, {"tenant": "a", "roles": []}, {"tenant": "a", "roles": "auditor"}],
)
def test_bad_bindings_are_refused(spec: dict[str, str | list[str]]) -> None:
    with pytest.raises(ValueError):
        parse_bindings({"dns:a.example": spec})


def forwarded(*chain: Issued) -> str:
    return quote(b"".join(c.pem for c in chain).decode())


def test_forwarded_chain_is_verified_again(ca: Issued) -> None:
    m = certs(ca, BINDINGS)
    good = issue(ca, "svc", sans=[DNS("svc.example.com")])
    leaf = m.verify_forwarded(forwarded(good))
    assert leaf is not None and m.principal(leaf) is not None


def test_forwarded_chain_through_an_intermediate(ca: Issued) -> None:
    inter = make_ca("Intermediate", parent=ca)
    leaf = issue(inter, "svc", sans=[DNS("svc.example.com")])
    m = certs(ca, BINDINGS)
    assert m.verify_forwarded(forwarded(leaf, inter)) is not None
    assert m.verify_forwarded(forwarded(leaf)) is None  # the chain is incomplete


def test_forwarded_refusals(ca: Issued) -> None:
    m = certs(ca, BINDINGS)
    sans: list[x509.GeneralName] = [DNS("svc.example.com")]
    past = datetime.now(UTC) - timedelta(days=3)
    future = datetime.now(UTC) + timedelta(days=3)
    refused = {
        "other CA": issue(make_ca("Other CA"), "svc", sans=sans),
        "self-signed forgery": self_signed_client("Strongroom Test CA", sans),
        "expired": issue(ca, "svc", sans=sans, not_before=past, not_after=past + timedelta(1)),
        "not yet valid": issue(ca, "svc", sans=sans, not_before=future),
        "server-only EKU": issue(ca, "svc", sans=sans, eku=[ExtendedKeyUsageOID.SERVER_AUTH]),
    }
    for why, cert in refused.items():
        assert m.verify_forwarded(forwarded(cert)) is None, why
    forger = self_signed_client("Strongroom Test CA", sans)
    assert m.verify_forwarded(forwarded(forger, Issued(forger.cert, forger.key))) is None
    for junk in ("", "not a pem", quote("-----BEGIN CERTIFICATE-----\nAAAA\n"), "x" * 40000):
        assert m.verify_forwarded(junk) is None


def test_without_a_client_ca_nothing_forwarded_verifies(ca: Issued) -> None:
    m = ClientCertificates(parse_bindings(BINDINGS))
    assert m.verify_forwarded(forwarded(issue(ca, "s", sans=[DNS("svc.example.com")]))) is None


@pytest.mark.parametrize(
    "peer, trusted",
    [("10.1.2.3", True), ("11.0.0.1", False), (None, False), ("not-an-ip", False)],
)
def test_trusted_proxy_is_by_socket_address(ca: Issued, peer: str | None, trusted: bool) -> None:
    assert certs(ca, BINDINGS).trusted_proxy(peer) is trusted


def build(s: Settings) -> ClientCertificates | None:
    return build_client_certificates(s.tls, s.mtls, s.auth)


def test_settings(ca: Issued, tmp_path: Path) -> None:
    assert build(Settings()) is None  # default: nothing configured
    ca_file = tmp_path / "ca.pem"
    ca_file.write_bytes(ca.pem)
    s = Settings(
        tls_client_ca_file=ca_file,
        mtls_principals=BINDINGS,
        auth_required_for={"keys:decrypt": ["mtls"], "keys:rotate": ["api_key"]},
    )
    m = build(s)
    assert m is not None and not m.required
    assert m.required_for("keys:decrypt") and not m.required_for("keys:rotate")
    required = build(Settings(tls_client_ca_file=ca_file, tls_client_auth="required"))
    assert required is not None and required.required_for("keys:read")
    no_mtls = Settings(mtls_principals=BINDINGS, auth_methods=["api_key"])
    assert build(no_mtls) is None
    # A client CA is needed once client certificates are asked for: refused at load.
    with pytest.raises(ValidationError, match="STRONGROOM_TLS_CLIENT_CA_FILE"):
        Settings(tls_client_auth="optional")
    with pytest.raises(InternalError):
        build(Settings(mtls_principals={"cn:svc": {"tenant": "a"}}))
