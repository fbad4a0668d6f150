"""The optional internal CA: off by default; a root and an intermediate whose keys are
sealed; roles limit names, lifetime and usages; issuance from a generated key or a
CSR passes ``openssl verify`` against the chain; requests beyond the role or the
issuer are refused, never truncated; revocation (expired certificates too) and a
signed DER CRL that openssl honours."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from sqlalchemy import select

from strongroom.store.models import CertificateAuthority
from tests.api.conftest import App

CA = "/api/v1/certificate-authorities"


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"pki_ca_enabled": True}


async def _setup(app: App) -> dict[str, Any]:
    r = await app.post(CA, {"name": "root", "commonName": "Acme Root", "ttlDays": 3650})
    assert r.status_code == 201, r.text
    r = await app.post(
        CA, {"name": "issuing", "commonName": "Acme Issuing", "ttlDays": 365, "parent": "root"}
    )
    assert r.status_code == 201, r.text
    issuing = r.json()
    role = {
        "allowedDomains": ["example.com"],
        "allowSubdomains": True,
        "maxTtlDays": 30,
        "extKeyUsage": ["serverAuth"],
    }
    r = await app.client.put(f"{CA}/issuing/roles/web", json=role, headers=app.headers)
    assert r.status_code == 200, r.text
    return dict(issuing)


def openssl_verify(tmp: Path, chain_pem: str, leaf_pem: str, *extra: str) -> str:
    certs = x509.load_pem_x509_certificates(chain_pem.encode())
    (tmp / "root.pem").write_bytes(certs[-1].public_bytes(serialization.Encoding.PEM))
    (tmp / "inter.pem").write_bytes(
        b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs[:-1])
    )
    (tmp / "leaf.pem").write_text(leaf_pem)
    args = ["openssl", "verify", "-CAfile", str(tmp / "root.pem")]
    args += ["-untrusted", str(tmp / "inter.pem"), *extra, str(tmp / "leaf.pem")]
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    return done.stdout + done.stderr


async def test_disabled_by_default(app: App, tmp_path: Path) -> None:
    app.services.authorities.settings = app.services.authorities.settings.model_copy(
        update={"enabled": False}
    )
    r = await app.post(CA, {"name": "root", "commonName": "Root"})
    assert (r.status_code, r.json()["error"]["code"]) == (404, "PKI008")


async def test_issue_with_a_generated_key_passes_openssl_verify(app: App, tmp_path: Path) -> None:
    issuing = await _setup(app)
    body = {"role": "web", "commonName": "www.example.com", "dnsNames": ["www.example.com"]}
    r = await app.post(f"{CA}/issuing/issue", {**body, "ttlDays": 7})
    assert r.status_code == 201, r.text
    out = r.json()
    cert = x509.load_pem_x509_certificate(out["certificate"]["pem"].encode())
    key = serialization.load_pem_private_key(out["privateKeyPem"].encode(), None)
    assert cert.public_key() == key.public_key()
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.SERVER_AUTH]
    assert out["certificate"]["issuerFingerprint"] == issuing["certificate"]["fingerprint"]
    assert out["certificate"]["source"] == "issued" and out["certificate"]["hasPrivateKey"]
    result = openssl_verify(
        tmp_path, out["chainPem"], out["certificate"]["pem"], "-purpose", "sslserver"
    )
    assert result.strip().endswith(": OK"), result
    # The CA keys are stored sealed: no PEM or DER private key in their rows.
    async with app.services.db.read() as s:
        blobs = (await s.execute(select(CertificateAuthority.sealed_key))).scalars().all()
    assert len(blobs) == 2 and all(b"PRIVATE KEY" not in b for b in blobs)


async def test_issue_from_a_csr(app: App, tmp_path: Path) -> None:
    await _setup(app)
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "api.example.com")]))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("api.example.com")]), False)
        .sign(key, hashes.SHA256())
    )
    pem = csr.public_bytes(serialization.Encoding.PEM).decode()
    r = await app.post(f"{CA}/issuing/issue", {"role": "web", "csr": pem})
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["privateKeyPem"] is None and out["certificate"]["hasPrivateKey"] is False
    cert = x509.load_pem_x509_certificate(out["certificate"]["pem"].encode())
    assert cert.public_key() == key.public_key()
    assert (
        openssl_verify(tmp_path, out["chainPem"], out["certificate"]["pem"]).strip().endswith("OK")
    )
    r = await app.post(f"{CA}/issuing/issue", {"role": "web", "csr": "garbage"})
    assert (r.status_code, r.json()["error"]["code"]) == (400, "PKI001")


@pytest.mark.parametrize(
    ("extra", "reason"),
    [
        ({"dnsNames": ["www.evil.com"]}, "names"),
        ({"dnsNames": ["*.example.com"]}, "names"),
        ({"ipAddresses": ["10.0.0.1"]}, "ipSans"),
        ({"ttlDays": 31}, "maxTtlDays"),
        ({"commonName": "other.org"}, "names"),
    ],
)
async def test_outside_the_role_is_refused(app: App, extra: dict[str, Any], reason: str) -> None:
    await _setup(app)
    body = {"role": "web", "dnsNames": ["ok.example.com"], **extra}
    r = await app.post(f"{CA}/issuing/issue", body)
    assert (r.status_code, r.json()["error"]["code"]) == (400, "PKI011"), r.text
    assert r.json()["error"]["details"]["reason"] == reason
    listed = (await app.get("/api/v1/certificates")).json()["items"]
    assert all(c["source"] != "issued" for c in listed)


async def test_beyond_the_issuer_is_refused_not_truncated(app: App) -> None:
    await _setup(app)
    role = {"allowedDomains": ["example.com"], "allowSubdomains": True, "maxTtlDays": 3650}
    r = await app.client.put(f"{CA}/issuing/roles/long", json=role, headers=app.headers)
    assert r.status_code == 200
    r = await app.post(
        f"{CA}/issuing/issue", {"role": "long", "dnsNames": ["a.example.com"], "ttlDays": 400}
    )
    assert r.json()["error"]["details"]["reason"] == "notAfterBeyondIssuer"
    edge = {"role": "long", "dnsNames": ["a.example.com"], "notAfter": "9999-12-31T23:59:59-01:00"}
    r = await app.post(f"{CA}/issuing/issue", edge)  # the calendar's edge: refused
    assert (r.status_code, r.json()["error"]["code"]) == (400, "PKI011")
    r = await app.post(
        CA, {"name": "sub", "commonName": "Sub", "ttlDays": 400, "parent": "issuing"}
    )
    assert (r.status_code, r.json()["error"]["details"]["reason"]) == (400, "notAfterBeyondIssuer")
    r = await app.post(f"{CA}/nope/issue", {"role": "web", "dnsNames": ["a.example.com"]})
    assert (r.status_code, r.json()["error"]["code"]) == (404, "PKI009")
    r = await app.post(CA, {"name": "root", "commonName": "Again"})
    assert (r.status_code, r.json()["error"]["code"]) == (409, "PKI010")


async def test_revocation_and_the_crl(app: App, tmp_path: Path) -> None:
    await _setup(app)
    inv = app.services.certificates
    real = inv.clock
    # One certificate issued 40 days ago for 7 days: expired today, revoked anyway.
    inv.clock = lambda: real() - timedelta(days=40)
    r = await app.post(
        f"{CA}/issuing/issue", {"role": "web", "dnsNames": ["old.example.com"], "ttlDays": 7}
    )
    inv.clock = real
    assert r.status_code == 201, r.text
    old = r.json()["certificate"]
    r = await app.post(f"{CA}/issuing/issue", {"role": "web", "dnsNames": ["new.example.com"]})
    new, chain = r.json()["certificate"], r.json()["chainPem"]
    for c in (old, new):
        r = await app.post(
            f"/api/v1/certificates/{c['fingerprint']}/revoke", {"reason": "keyCompromise"}
        )
        assert r.status_code == 200 and r.json()["revokedAt"] is not None
    r = await app.post(
        f"/api/v1/certificates/{new['fingerprint']}/revoke", {"reason": "superseded"}
    )
    assert r.json()["revocationReason"] == "keyCompromise"  # once revoked, it stays so
    r = await app.get(f"{CA}/issuing/crl")
    assert r.status_code == 200 and r.headers["content-type"] == "application/pkix-crl"
    crl = x509.load_der_x509_crl(r.content)
    issuer = x509.load_pem_x509_certificates(chain.encode())[0]
    assert crl.is_signature_valid(issuer.public_key())  # type: ignore[arg-type]
    assert crl.next_update_utc is not None and crl.next_update_utc > datetime.now(UTC)
    revoked = {format(e.serial_number, "x") for e in crl}
    assert revoked == {old["serialNumber"], new["serialNumber"]}
    # openssl honours it: the revoked leaf no longer verifies with CRL checking.
    (tmp_path / "crl.pem").write_bytes(crl.public_bytes(serialization.Encoding.PEM))
    root_crl = (await app.get(f"{CA}/root/crl")).content
    (tmp_path / "root-crl.pem").write_bytes(
        x509.load_der_x509_crl(root_crl).public_bytes(serialization.Encoding.PEM)
    )
    result = openssl_verify(
        tmp_path,
        chain,
        new["pem"],
        "-crl_check_all",
        "-CRLfile",
        str(tmp_path / "crl.pem"),
        "-CRLfile",
        str(tmp_path / "root-crl.pem"),
    )
    assert "certificate revoked" in result, result


async def test_roles_and_authorities_are_listed(app: App) -> None:
    await _setup(app)
    names = [a["name"] for a in (await app.get(CA)).json()["items"]]
    assert names == ["issuing", "root"]
    roles = (await app.get(f"{CA}/issuing/roles")).json()["items"]
    assert [(r["name"], r["maxTtlDays"]) for r in roles] == [("web", 30)]
