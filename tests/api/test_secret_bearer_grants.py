"""Path grants reach OIDC principals too: a token's group maps to a custom role whose
grants name a path pattern (the same role machinery as access keys)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.api.conftest import App
from tests.api.secret_helpers import put
from tests.oidc_support import Issuer, JwksServer, issuer_config, serve


@pytest.fixture(scope="module")
def idp() -> Issuer:
    return Issuer()


@pytest.fixture(scope="module")
def jwks(idp: Issuer) -> Iterator[JwksServer]:
    yield from serve(idp)


@pytest.fixture
def settings_overrides(jwks: JwksServer) -> dict[str, Any]:
    roles = {"billing-team": ["billing-secrets"], "strongroom-admins": ["admin"]}
    return {"oidc_issuers": [issuer_config(jwks.uri, group_roles=roles)]}


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_a_token_reads_only_below_its_groups_path(app: App, idp: Issuer) -> None:
    grants = {
        "grants": [
            {"permission": "secrets:read", "resource": "apps/billing/*"},
            {"permission": "secrets:list", "resource": "apps/billing/*"},
        ]
    }
    r = await app.client.put("/api/v1/roles/billing-secrets", json=grants, headers=app.headers)
    assert r.status_code == 201, r.text
    await put(app, "apps/billing/stripe", {"k": "b"})
    await put(app, "apps/shop/stripe", {"k": "s"})
    headers = {"Authorization": f"Bearer {idp.token(groups=['billing-team'])}"}
    r = await app.client.get("/api/v1/secrets/data/apps/billing/stripe", headers=headers)
    assert r.status_code == 200 and r.json()["data"] == {"k": "b"}, r.text
    r = await app.client.get("/api/v1/secrets/data/apps/shop/stripe", headers=headers)
    assert r.status_code == 403
    r = await app.client.get("/api/v1/secrets", headers=headers)
    assert r.json()["keys"] == ["apps/billing/stripe"]
