"""The routes the other client tests leave to the recorded-route check
(test_client_coverage.py) only, here against the real service, sync and async: the
internal CA (create, list, roles, issue, CRL; off by default, so this module's
service turns it on) and soft-deleting a secret's current version."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography import x509

from strongroom_client.errors import CertificateAuthorityDisabledError
from tests.client.conftest import ThreadServer


@pytest.fixture(scope="module", autouse=True)
def ca_enabled(service: ThreadServer) -> Iterator[None]:
    authorities = service.services.authorities
    before = authorities.settings
    authorities.settings = before.model_copy(update={"enabled": True})
    yield
    authorities.settings = before


async def test_internal_ca_through_the_client(sr: Any) -> None:
    name = f"ca-{uuid.uuid4().hex[:8]}"
    made = await sr.authorities.create(name, "Client Test Root", ttl_days=30)
    assert made["name"] == name
    assert name in [a["name"] for a in (await sr.authorities.list())["items"]]
    role = await sr.authorities.put_role(
        name, "web", allowedDomains=["example.com"], allowSubdomains=True, maxTtlDays=7
    )
    assert role["name"] == "web"
    assert [r["name"] for r in (await sr.authorities.roles(name))["items"]] == ["web"]
    issued = await sr.authorities.issue(
        name, "web", common_name="api.example.com", dns_names=["api.example.com"], ttl_days=3
    )
    cert = x509.load_pem_x509_certificate(issued["certificate"]["pem"].encode())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["api.example.com"]
    assert issued["privateKeyPem"].startswith("-----BEGIN")
    await sr.certificates.revoke(issued["certificate"]["fingerprint"], "superseded")
    crl = x509.load_der_x509_crl(await sr.authorities.crl(name))
    assert crl.get_revoked_certificate_by_serial_number(cert.serial_number) is not None


async def test_disabled_ca_is_a_typed_error(sr: Any, service: ThreadServer) -> None:
    authorities = service.services.authorities
    on = authorities.settings
    authorities.settings = on.model_copy(update={"enabled": False})
    try:
        with pytest.raises(CertificateAuthorityDisabledError):
            await sr.authorities.list()
    finally:
        authorities.settings = on


async def test_soft_delete_of_the_current_version(sr: Any) -> None:
    from strongroom_client.errors import StrongroomError

    path = f"apps/client-{uuid.uuid4().hex[:8]}/cfg"
    await sr.secrets.put(path, {"v": "one"})
    await sr.secrets.put(path, {"v": "two"})
    assert (await sr.secrets.delete(path))["versions"] == [2]
    with pytest.raises(StrongroomError) as gone:
        await sr.secrets.get(path)
    assert gone.value.code == "SEC002"
    assert (await sr.secrets.get(path, 1))["data"] == {"v": "one"}
