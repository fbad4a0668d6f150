"""The certificate inventory over the API: import of PEM, DER, PKCS#12 and chains,
indexed fields, chain links, private keys sealed and exported only with
``certificates:export``, bad input as stable 4xx codes, on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from sqlalchemy import select

from strongroom.store.models import AuditRecord, CertificateKey
from tests.api.certificate_helpers import EPOCH, b64, import_pem, key_pem, leaf, make_ca, pem
from tests.api.conftest import App

START, END = EPOCH - timedelta(days=10), EPOCH + timedelta(days=80)


async def test_import_a_chain_with_its_key_and_read_it_back(app: App) -> None:
    root = make_ca("Chain Root")
    inter = make_ca("Chain Intermediate", root)
    cert, key = leaf(inter, "svc.example.com", ["svc.example.com", "*.svc.example.com"], START, END)
    bundle = pem(cert) + pem(inter.cert) + pem(root.cert) + key_pem(key)
    out = await import_pem(app, bundle)
    fp = cert.fingerprint(hashes.SHA256()).hex()
    assert out["leaf"] == fp and out["created"] == [True, True, True]
    r = await app.get(f"/api/v1/certificates/{fp}")
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["subject"] == "CN=svc.example.com"
    assert got["issuer"] == inter.cert.subject.rfc4514_string()
    assert got["serialNumber"] == format(cert.serial_number, "x")
    assert (got["keyAlgorithm"], got["keySize"]) == ("ec", 256)
    assert {s["value"] for s in got["sans"]} == {"svc.example.com", "*.svc.example.com"}
    assert got["hasPrivateKey"] is True and got["isCa"] is False
    inter_fp = inter.cert.fingerprint(hashes.SHA256()).hex()
    root_fp = root.cert.fingerprint(hashes.SHA256()).hex()
    assert got["issuerFingerprint"] == inter_fp and got["chain"] == [inter_fp, root_fp]
    assert x509.load_pem_x509_certificate(got["pem"].encode()) == cert
    # The same bundle again: nothing new, same leaf.
    again = await import_pem(app, bundle)
    assert again["created"] == [False, False, False]
    # The key is stored sealed: its DER is nowhere in the row.
    der = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    async with app.services.db.read() as s:
        sealed = (await s.execute(select(CertificateKey.sealed))).scalars().all()
    assert len(sealed) == 1 and der not in sealed[0]


async def test_a_child_imported_before_its_issuer_is_linked_later(app: App) -> None:
    ca = make_ca("Late CA")
    cert, _ = leaf(ca, "late.example.com", ["late.example.com"], START, END)
    fp = (await import_pem(app, pem(cert)))["leaf"]
    assert (await app.get(f"/api/v1/certificates/{fp}")).json()["issuerFingerprint"] is None
    await import_pem(app, ca.pem)
    got = (await app.get(f"/api/v1/certificates/{fp}")).json()
    assert got["issuerFingerprint"] == ca.cert.fingerprint(hashes.SHA256()).hex()


async def test_der_and_pkcs12_round_trip(app: App) -> None:
    ca = make_ca("P12 CA")
    cert, key = leaf(ca, "p12.example.com", ["p12.example.com"], START, END)
    r = await app.post(
        "/api/v1/certificates",
        {"der": b64(cert.public_bytes(serialization.Encoding.DER))},
    )
    assert r.status_code == 201, r.text
    p12 = pkcs12.serialize_key_and_certificates(
        b"x", key, cert, [ca.cert], serialization.BestAvailableEncryption(b"import-pass")
    )
    r = await app.post("/api/v1/certificates", {"pkcs12": b64(p12), "password": "import-pass"})
    assert r.status_code == 201, r.text
    fp = r.json()["leaf"]
    assert r.json()["certificates"][0]["hasPrivateKey"] is True
    r = await app.post(
        f"/api/v1/certificates/{fp}/export", {"format": "pkcs12", "password": "export-pass"}
    )
    assert r.status_code == 200, r.text
    back = pkcs12.load_pkcs12(base64.b64decode(r.json()["data"]), b"export-pass")
    assert back.cert is not None and back.cert.certificate == cert
    assert back.key is not None and back.key.private_numbers() == key.private_numbers()  # type: ignore[union-attr]
    assert [c.certificate for c in back.additional_certs] == [ca.cert]
    # ... and the exported PKCS#12 imports again as the same certificate, key included.
    r = await app.post(
        "/api/v1/certificates", {"pkcs12": r.json()["data"], "password": "export-pass"}
    )
    assert r.status_code == 201 and r.json()["leaf"] == fp and r.json()["created"][0] is False
    r = await app.post(f"/api/v1/certificates/{fp}/export", {"format": "pem"})
    assert r.status_code == 200 and key_pem(key) in r.json()["data"]


async def test_export_needs_its_own_permission_and_is_audited(app: App) -> None:
    ca = make_ca("Export CA")
    cert, key = leaf(ca, "x.example.com", ["x.example.com"], START, END)
    fp = (await import_pem(app, pem(cert) + key_pem(key)))["leaf"]
    _, operator = await app.services.access.create("default", ["cert-operator"])
    r = await app.post(f"/api/v1/certificates/{fp}/export", {"format": "pem"}, key=operator)
    assert r.status_code == 403 and r.json()["error"]["code"] == "AUTH002"
    r = await app.client.get(f"/api/v1/certificates/{fp}", headers={"X-API-Key": operator})
    assert r.status_code == 200
    r = await app.post(f"/api/v1/certificates/{fp}/export", {"format": "pem"})
    assert r.status_code == 200
    async with app.services.db.read() as s:
        q = select(AuditRecord.action, AuditRecord.outcome, AuditRecord.target)
        records = (await s.execute(q)).all()
    assert ("certificate.export", "success", fp) in records
    assert ("certificate.import", "success", fp) in records
    assert ("authz.denied", "denied", None) in records


async def test_no_key_to_export_is_409(app: App) -> None:
    ca = make_ca("Keyless CA")
    fp = (await import_pem(app, ca.pem))["leaf"]
    r = await app.post(f"/api/v1/certificates/{fp}/export", {"format": "pem"})
    assert (r.status_code, r.json()["error"]["code"]) == (409, "PKI007")


def _p12(password: bytes) -> bytes:
    ca = make_ca("Bad CA")
    cert, key = leaf(ca, "bad.example.com", [], START, END)
    return pkcs12.serialize_key_and_certificates(
        b"x", key, cert, None, serialization.BestAvailableEncryption(password)
    )


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"pem": "not a certificate"}, 400, "PKI001"),
        ({"pem": "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"}, 400, "PKI001"),
        ({"der": b64(b"\x30\x03\x02\x01\x05")}, 400, "PKI001"),
        ({"der": "!!not base64!!"}, 400, "PKI001"),
        ({"pkcs12": b64(b"garbage" * 10)}, 400, "PKI001"),
        ({"pkcs12": b64(_p12(b"right")), "password": "wrong"}, 400, "PKI002"),
        ({"pkcs12": b64(_p12(b"right"))}, 400, "PKI002"),
        ({"pem": "-----BEGIN CERTIFICATE-----\n" + "A" * 300_000 + "\n-----END"}, 413, "PKI003"),
        ({"pem": "x", "der": "eA=="}, 400, "ENC001"),
        ({}, 400, "ENC001"),
        ({"pem": "x", "renews": "nothex"}, 400, "ENC001"),
    ],
)
async def test_bad_input_is_a_stable_4xx(
    app: App, body: dict[str, str], status: int, code: str
) -> None:
    r = await app.post("/api/v1/certificates", body)
    assert (r.status_code, r.json()["error"]["code"]) == (status, code), r.text
    assert (await app.get("/api/v1/certificates")).json()["items"] == []


async def test_a_key_for_another_certificate_is_refused(app: App) -> None:
    ca = make_ca("Mismatch CA")
    cert, _ = leaf(ca, "m.example.com", [], START, END)
    _, other = leaf(ca, "o.example.com", [], START, END)
    r = await app.post("/api/v1/certificates", {"pem": pem(cert) + key_pem(other)})
    assert (r.status_code, r.json()["error"]["code"]) == (400, "PKI005")


async def test_unknown_certificate_is_404(app: App) -> None:
    for fp in ("ab" * 32, "zz"):
        r = await app.get(f"/api/v1/certificates/{fp}")
        assert (r.status_code, r.json()["error"]["code"]) == (404, "PKI004")


async def test_another_tenants_certificates_do_not_exist(app: App) -> None:
    ca = make_ca("Tenant CA")
    cert, key = leaf(ca, "t.example.com", ["t.example.com"], START, END)
    fp = (await import_pem(app, pem(cert) + key_pem(key)))["leaf"]
    _, other = await app.services.access.create("acme", ["admin"], "acme admin")
    headers = {"X-API-Key": other}
    r = await app.client.get(f"/api/v1/certificates/{fp}", headers=headers)
    assert (r.status_code, r.json()["error"]["code"]) == (404, "PKI004")
    r = await app.client.get("/api/v1/certificates", headers=headers)
    assert r.json()["items"] == []
    r = await app.post(f"/api/v1/certificates/{fp}/export", {"format": "pem"}, key=other)
    assert r.status_code == 404
    # acme imports the same certificate: its own row, with no key of the default tenant's.
    r = await app.post("/api/v1/certificates", {"pem": pem(cert)}, key=other)
    assert r.status_code == 201 and r.json()["certificates"][0]["hasPrivateKey"] is False


async def test_a_refused_import_is_audited_without_its_input(app: App) -> None:
    password = "CANARY-wrong-password-3f1"
    r = await app.post(
        "/api/v1/certificates",
        {"pkcs12": b64(_p12(b"right")), "password": password},
    )
    assert r.status_code == 400 and password not in r.text
    rid = r.json()["requestId"]
    async with app.services.db.read() as s:
        q = select(AuditRecord.action, AuditRecord.outcome, AuditRecord.detail).where(
            AuditRecord.request_id == rid
        )
        rows = (await s.execute(q)).all()
    assert [(a, o, d) for a, o, d in rows] == [
        ("certificate.import", "failure", {"code": "PKI002"})
    ]
