"""The client over TLS with a client certificate (mTLS) as its only credential,
configured by arguments (sync) and by STRONGROOM_CLIENT_CERT/_KEY/CA_CERT (async),
against ``strongroom serve`` with TLS (tests/integration/test_mtls.py's server)."""

from __future__ import annotations

import uuid

import pytest

from strongroom_client import AsyncClient, Client, PermissionDeniedError, TransportError
from tests.integration.test_mtls import (  # noqa: F401 (fixtures)
    Pki,
    TlsServer,
    pki,
    tls_server,
)


@pytest.mark.slow
async def test_client_certificate_is_the_credential(
    tls_server: TlsServer,  # noqa: F811
    pki: Pki,  # noqa: F811
) -> None:
    cert, key = pki.files("good")
    ca = str(pki.dir / "ca.crt")
    user = f"mtls-{uuid.uuid4().hex[:8]}"
    with Client(tls_server.base, client_cert=cert, client_key=key, ca_cert=ca, env={}) as c:
        assert c.keys.create(user)["userId"] == user
        assert c.decrypt(user, c.encrypt(user, ["over mTLS"])) == ["over mTLS"]
        with pytest.raises(PermissionDeniedError):  # key-admin: no access keys
            c.access_keys.list()
    env = {
        "STRONGROOM_ADDR": tls_server.base,
        "STRONGROOM_CLIENT_CERT": cert,
        "STRONGROOM_CLIENT_KEY": key,
        "STRONGROOM_CA_CERT": ca,
    }
    async with AsyncClient(env=env) as ac:
        assert (await ac.keys.get(user))["currentVersion"] == 1
    other_cert, other_key = pki.files("wrong-ca")
    with (
        Client(
            tls_server.base, client_cert=other_cert, client_key=other_key, ca_cert=ca, env={}
        ) as c,
        pytest.raises(TransportError),
    ):
        c.keys.get(user)
