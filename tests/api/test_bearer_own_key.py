"""A bearer token with the ``user`` role uses its own key (issue #15, item 6): the
key whose userId is the token's ``own_key_claim`` (default ``sub``), never another
user's. Real tokens from a JWKS server on 127.0.0.1, end to end over the API."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.api.access_helpers import error_code
from tests.api.conftest import App
from tests.oidc_support import Claims, Issuer, JwksServer, issuer_config, serve

PEOPLE: Claims = {"groups": ["people"]}  # mapped to the built-in "user" role


@pytest.fixture(scope="module")
def idp() -> Issuer:
    return Issuer()


@pytest.fixture(scope="module")
def jwks(idp: Issuer) -> Iterator[JwksServer]:
    yield from serve(idp)


@pytest.fixture
def settings_overrides(jwks: JwksServer, request: pytest.FixtureRequest) -> dict[str, Any]:
    extra = getattr(request, "param", {})
    return {"oidc_issuers": [issuer_config(jwks.uri, group_roles={"people": ["user"]}, **extra)]}


async def post(app: App, token: str, path: str, user: str, data: list[str]) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"}
    return await app.client.post(path, json={"userId": user, "data": data}, headers=headers)


async def test_a_user_token_uses_its_own_key_and_no_other(app: App, idp: Issuer) -> None:
    await app.create_key("alice")
    await app.create_key("bob")
    bobs = await app.encrypt("bob", ["bob's"])
    token = idp.token(sub="alice", **PEOPLE)
    r = await post(app, token, "/api/v1/encrypt", "alice", ["mine"])
    assert r.status_code == 200, r.text
    r = await post(app, token, "/api/v1/decrypt", "alice", r.json()["encryptedData"])
    assert r.status_code == 200 and r.json() == {"decryptedData": ["mine"]}
    r = await app.client.get(
        "/api/v1/keys/alice/public", headers={"Authorization": f"Bearer {token}"}
    )
    assert r.status_code == 200, r.text
    for path, data in (("/api/v1/encrypt", ["x"]), ("/api/v1/decrypt", bobs)):
        r = await post(app, token, path, "bob", data)
        assert (r.status_code, error_code(r)) == (403, "AUTH002"), path
    # The user role creates and rotates nothing, not even its own key.
    r = await app.client.post(
        "/api/v1/keys", json={"userId": "alice"}, headers={"Authorization": f"Bearer {token}"}
    )
    assert r.status_code == 403


@pytest.mark.parametrize("settings_overrides", [{"own_key_claim": "email"}], indirect=True)
async def test_the_own_key_claim_is_configurable(app: App, idp: Issuer) -> None:
    await app.create_key("carol@example.com")
    await app.create_key("alice")
    token = idp.token(sub="alice", email="carol@example.com", **PEOPLE)
    r = await post(app, token, "/api/v1/encrypt", "carol@example.com", ["x"])
    assert r.status_code == 200, r.text
    r = await post(app, token, "/api/v1/encrypt", "alice", ["x"])  # sub no longer counts
    assert r.status_code == 403
    # A token without the claim, or with a value no userId can have, owns no key.
    without: Claims = {"sub": "alice", **PEOPLE}
    invalid: Claims = {**without, "email": "alice\n"}
    for claims in (without, invalid):
        r = await post(app, idp.token(**claims), "/api/v1/encrypt", "alice", ["x"])
        assert (r.status_code, error_code(r)) == (403, "AUTH002")


async def test_a_subject_that_is_no_user_id_owns_no_key(app: App, idp: Issuer) -> None:
    await app.create_key("auth0")
    token = idp.token(sub="auth0|12345", **PEOPLE)  # '|' is not allowed in a userId
    r = await post(app, token, "/api/v1/encrypt", "auth0", ["x"])
    assert (r.status_code, error_code(r)) == (403, "AUTH002")
