"""Path grants reach mTLS principals too (issue #16, "Access"): a client certificate
forwarded by the trusted proxy maps to a custom role whose grants name a path pattern
(the same role machinery as access keys and OIDC groups), on a real server."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.integration.test_cli import ACCESS_KEY, Server
from tests.integration.test_mtls import MAPPED, PROXY, Pki, cert_header, via

# The certificates of test_mtls.py, as this module's fixture too.
from tests.integration.test_mtls import pki as pki

ROLE = "billing-secrets"
GRANTS = [
    {"permission": "secrets:read", "resource": "apps/billing/*"},
    {"permission": "secrets:list", "resource": "apps/billing/*"},
]


@pytest.fixture(scope="module")
def server(pki: Pki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, str]]:
    bindings = {f"dns:{MAPPED}": {"tenant": "default", "roles": [ROLE]}}
    srv = Server(
        tmp_path_factory.mktemp("mtls-secrets"),
        "mtls-secrets",
        STRONGROOM_TLS_CLIENT_CA_FILE=str(pki.dir / "ca.crt"),
        STRONGROOM_MTLS_PRINCIPALS=json.dumps(bindings),
        STRONGROOM_MTLS_TRUSTED_PROXIES=json.dumps([PROXY]),
    )
    srv.start()
    try:
        admin = ACCESS_KEY.search(srv.stdout())
        assert admin is not None
        yield srv, admin.group(0)
    finally:
        srv.stop()


def test_a_client_certificate_reads_only_below_its_roles_path(
    server: tuple[Server, str], pki: Pki
) -> None:
    srv, admin = server
    key = {"X-API-Key": admin}
    with via(srv, PROXY) as proxy:
        made = proxy.put(f"/api/v1/roles/{ROLE}", json={"grants": GRANTS}, headers=key)
        assert made.status_code == 201, made.text
        for path in ("apps/billing/stripe", "apps/shop/stripe"):
            w = proxy.put(f"/api/v1/secrets/data/{path}", json={"data": {"k": path}}, headers=key)
            assert w.status_code == 200, w.text
        cert = cert_header(pki, "good")
        mine = proxy.get("/api/v1/secrets/data/apps/billing/stripe", headers=cert)
        assert mine.status_code == 200 and mine.json()["data"] == {"k": "apps/billing/stripe"}
        other = proxy.get("/api/v1/secrets/data/apps/shop/stripe", headers=cert)
        assert other.status_code == 403 and "apps/shop" not in other.text
        assert proxy.get("/api/v1/secrets", headers=cert).json()["keys"] == ["apps/billing/stripe"]
        # The certificate cannot write where it may only read.
        write = proxy.put(
            "/api/v1/secrets/data/apps/billing/stripe", json={"data": {"k": "x"}}, headers=cert
        )
        assert write.status_code == 403
