"""Revoked bearer tokens are tenant-owned in PostgreSQL (migration 0008): served as the
ordinary app role, a tenant administrator's revocation is written in its own tenant,
another tenant's requests see none of its rows nor can they write one for it, and the
verifier (system scope) still refuses each token in the tenant it was revoked for.
Real tokens from a JWKS server on 127.0.0.1, over the HTTP API."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from strongroom.api.app import create_app
from strongroom.kms.local import create_master_key_file
from strongroom.services.container import Services, build_services, scope_to_tenant
from strongroom.store.models import RevokedToken
from strongroom.store.tenancy import enter_system_scope
from tests.api.conftest import make_settings
from tests.oidc_support import Claims, Issuer, JwksServer, issuer_config, serve

pytestmark = pytest.mark.postgres
SHARED = "https://idp.shared.test/"


def in_tenant(tenant: str) -> Claims:
    """An administrator's claims for an issuer that names the tenant."""
    return {"custom:tenant": tenant, "groups": ["strongroom-admins"]}


@pytest.fixture(scope="module")
def idp() -> Issuer:
    return Issuer(SHARED)


@pytest.fixture(scope="module")
def jwks(idp: Issuer) -> Iterator[JwksServer]:
    yield from serve(idp)


@pytest.fixture
async def served(
    postgres_server: Any, postgres_template: str, jwks: JwksServer, tmp_path: Path
) -> AsyncIterator[tuple[Services, httpx.AsyncClient]]:
    url = postgres_server.create_database(template=postgres_template)
    dbname = url.rsplit("/", 1)[1]
    create_master_key_file(tmp_path / "strongroom.key")
    issuers = [issuer_config(jwks.uri, issuer=SHARED, tenant_claim="custom:tenant")]
    settings = make_settings(postgres_server.app_role_url(dbname), tmp_path, oidc_issuers=issuers)
    svc = build_services(settings)
    enter_system_scope()  # set-up is system work
    await svc.start()
    transport = httpx.ASGITransport(app=create_app(settings, svc))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://sr") as client:
            yield svc, client
    finally:
        enter_system_scope()
        await svc.close()


async def test_revocations_are_tenant_rows(
    served: tuple[Services, httpx.AsyncClient], idp: Issuer
) -> None:
    svc, client = served
    keys = {t: (await svc.access.create(t, ["admin"]))[1] for t in ("acme", "globex")}
    _, root = await svc.access.create("default", ["super-admin"])
    tokens = {t: idp.token(jti="j1", **in_tenant(t)) for t in keys}

    async def acts(tenant: str) -> int:
        headers = {"Authorization": f"Bearer {tokens[tenant]}"}
        r = await client.post("/api/v1/keys", json={"userId": "u"}, headers=headers)
        return r.status_code

    async def revoke(key: str, jti: str) -> int:
        body = {"issuer": SHARED, "jti": jti}
        r = await client.post("/api/v1/tokens/revoked", json=body, headers={"X-API-Key": key})
        return r.status_code

    assert await revoke(keys["globex"], "j1") == 201  # written under globex's scope
    assert await acts("globex") == 401 and await acts("acme") == 201
    assert await revoke(root, "j2") == 201  # every tenant: written in system scope

    async def visible(tenant: str | None) -> list[str]:
        scope_to_tenant(tenant)
        async with svc.db.read() as s:
            return sorted((await s.execute(select(RevokedToken.tenant_id))).scalars())

    assert await visible("acme") == []
    assert await visible("globex") == ["globex"]
    assert await visible(None) == ["*", "globex"]
    scope_to_tenant("acme")  # a forgotten check cannot write globex's revocation
    with pytest.raises(DBAPIError):
        async with svc.db.transaction() as s:
            await s.execute(
                text(
                    "INSERT INTO revoked_tokens (id, issuer, revoked_at, revoked_by, tenant_id)"
                    " VALUES ('x', 'i', now(), 'p', 'globex')"
                )
            )
    enter_system_scope()
