"""Bearer-token revocation is scoped to the tenant the token acts in (issue #15, item
1): an administrator of one tenant cannot lock another tenant's users out, whether
their issuer is bound to that tenant or names it in a claim; a principal spanning
tenants may revoke anywhere. Real tokens, real JWKS servers on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.api.access_helpers import audit_rows, error_code
from tests.api.conftest import App
from tests.oidc_support import Claims, Issuer, JwksServer, issuer_config, serve

GLOBEX_ISSUER = "https://idp.globex.test/"  # bound to tenant globex
SHARED_ISSUER = "https://idp.shared.test/"  # names the tenant in custom:tenant
ADMINS: Claims = {"groups": ["strongroom-admins"]}


def in_tenant(tenant: str) -> Claims:
    """An administrator's claims for an issuer that names the tenant."""
    return {"custom:tenant": tenant, "groups": ["strongroom-admins"]}


REVOKED = "/api/v1/tokens/revoked"


@pytest.fixture(scope="module")
def globex_idp() -> Issuer:
    return Issuer(GLOBEX_ISSUER)


@pytest.fixture(scope="module")
def shared_idp() -> Issuer:
    return Issuer(SHARED_ISSUER)


@pytest.fixture(scope="module")
def globex_jwks(globex_idp: Issuer) -> Iterator[JwksServer]:
    yield from serve(globex_idp)


@pytest.fixture(scope="module")
def shared_jwks(shared_idp: Issuer) -> Iterator[JwksServer]:
    yield from serve(shared_idp)


@pytest.fixture
def settings_overrides(globex_jwks: JwksServer, shared_jwks: JwksServer) -> dict[str, Any]:
    return {
        "oidc_issuers": [
            issuer_config(globex_jwks.uri, issuer=GLOBEX_ISSUER, tenant="globex"),
            issuer_config(shared_jwks.uri, issuer=SHARED_ISSUER, tenant_claim="custom:tenant"),
        ]
    }


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def acts(app: App, token: str, user: str) -> int:
    """Status of a key creation made with ``token`` (201 while it is not revoked)."""
    r = await app.client.post("/api/v1/keys", json={"userId": user}, headers=bearer(token))
    return r.status_code


async def revoke(app: App, key: str, issuer: str, jti: str, **headers: str) -> Any:
    body = {"issuer": issuer, "jti": jti}
    return await app.client.post(REVOKED, json=body, headers={"X-API-Key": key, **headers})


async def test_another_tenants_admin_cannot_revoke_a_bound_issuers_token(
    app: App, globex_idp: Issuer
) -> None:
    token = globex_idp.token(jti="globex-1", **ADMINS)
    assert await acts(app, token, "g1") == 201
    # The admin of "default" (app.admin_key): answered like an unknown issuer, audited.
    r = await revoke(app, app.admin_key, GLOBEX_ISSUER, "globex-1")
    assert (r.status_code, error_code(r)) == (400, "ENC001"), r.text
    assert r.json()["error"]["message"] == "unknown issuer"
    (denied,) = await audit_rows(app, "authz.denied")
    assert denied.tenant_id == "default" and denied.outcome == "denied"
    assert denied.detail == {"permission": "tokens:revoke", "reason": "tenant"}
    assert not await audit_rows(app, "token.revoke")
    assert await acts(app, token, "g2") == 201  # globex's user is not locked out
    # Not on another replica either (a fresh load of the table).
    oidc = app.services.auth._oidc
    assert oidc is not None
    oidc.revoked._snapshot.clear()
    assert await acts(app, token, "g3") == 201

    # globex's own admin may.
    _, globex_admin = await app.services.access.create("globex", ["admin"])
    r = await revoke(app, globex_admin, GLOBEX_ISSUER, "globex-1")
    assert r.status_code == 201, r.text
    assert await acts(app, token, "g4") == 401
    (row,) = await audit_rows(app, "token.revoke")
    assert row.tenant_id == "globex" and row.detail == {"new": True, "scope": "globex"}


async def test_a_principal_spanning_tenants_revokes_a_bound_issuers_token(
    app: App, globex_idp: Issuer
) -> None:
    _, root = await app.services.access.create("default", ["super-admin"])
    token = globex_idp.token(jti="globex-2", **ADMINS)
    assert await acts(app, token, "s1") == 201
    r = await revoke(app, root, GLOBEX_ISSUER, "globex-2")  # acting in "default"
    assert r.status_code == 201, r.text
    assert await acts(app, token, "s2") == 401
    # The row names the token's tenant, whatever tenant the super admin acted in.
    (row,) = await audit_rows(app, "token.revoke")
    assert row.detail == {"new": True, "scope": "globex"}
    _, globex_admin = await app.services.access.create("globex", ["admin"])
    r = await revoke(app, globex_admin, GLOBEX_ISSUER, "globex-2")
    assert r.status_code == 200 and r.json()["alreadyRevoked"] is True


async def test_a_tenant_claim_issuers_revocation_applies_in_the_revokers_tenant(
    app: App, shared_idp: Issuer
) -> None:
    globex_token = shared_idp.token(jti="same-jti", **in_tenant("globex"))
    default_token = shared_idp.token(jti="same-jti", **in_tenant("default"))
    assert await acts(app, globex_token, "c1") == 201
    assert await acts(app, default_token, "c1") == 201
    # default's admin revokes the jti: only tokens acting in default are refused.
    r = await revoke(app, app.admin_key, SHARED_ISSUER, "same-jti")
    assert r.status_code == 201, r.text
    assert await acts(app, default_token, "c2") == 401
    assert await acts(app, globex_token, "c2") == 201
    oidc = app.services.auth._oidc
    assert oidc is not None
    oidc.revoked._snapshot.clear()  # another replica, fresh from the table
    assert await oidc.revoked.is_revoked(SHARED_ISSUER, "same-jti", "default")
    assert not await oidc.revoked.is_revoked(SHARED_ISSUER, "same-jti", "globex")
    # globex's admin revokes it for globex: now a new revocation, in its tenant.
    _, globex_admin = await app.services.access.create("globex", ["admin"])
    r = await revoke(app, globex_admin, SHARED_ISSUER, "same-jti")
    assert r.status_code == 201 and r.json()["alreadyRevoked"] is False
    assert await acts(app, globex_token, "c3") == 401
    # X-Tenant-Id cannot take a tenant admin elsewhere.
    r = await revoke(app, app.admin_key, SHARED_ISSUER, "other", **{"X-Tenant-Id": "globex"})
    assert r.status_code == 404


async def test_a_principal_spanning_tenants_revokes_a_claimed_token_everywhere(
    app: App, shared_idp: Issuer
) -> None:
    _, root = await app.services.access.create("default", ["super-admin"])
    tokens = [shared_idp.token(jti="wide", **in_tenant(t)) for t in ("acme", "globex")]
    assert [await acts(app, t, "w1") for t in tokens] == [201, 201]
    r = await revoke(app, root, SHARED_ISSUER, "wide")
    assert r.status_code == 201, r.text
    assert [await acts(app, t, "w2") for t in tokens] == [401, 401]
    (row,) = await audit_rows(app, "token.revoke")
    assert row.detail == {"new": True, "scope": "*"}
