"""Bearer tokens over the API: a real JWKS on 127.0.0.1, tokens signed in the test;
refusals are 401 AUTH001 (or 403 AUTH002 when authenticated but not allowed),
audited, change no state and never echo the token; an access key and a token
together may do only what both allow."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from strongroom.access.models import Principal
from strongroom.access.policy import AuthPolicy, Combined, combine
from tests.api.access_helpers import audit_rows, error_code, issue
from tests.api.conftest import App
from tests.oidc_support import ISSUER, Claims, Issuer, JwksServer, issuer_config, serve

ADMINS: Claims = {"groups": ["strongroom-admins"]}
ENCRYPT_ONLY: Claims = {"scope": "strongroom/encrypt"}


@pytest.fixture(scope="module")
def idp() -> Issuer:
    return Issuer()


@pytest.fixture(scope="module")
def jwks(idp: Issuer) -> Iterator[JwksServer]:
    yield from serve(idp)


@pytest.fixture
def settings_overrides(jwks: JwksServer, request: pytest.FixtureRequest) -> dict[str, Any]:
    return {"oidc_issuers": [issuer_config(jwks.uri)], **getattr(request, "param", {})}


def bearer(token: str, **headers: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **headers}


async def call(app: App, path: str, body: Any, headers: dict[str, str]) -> httpx.Response:
    return await app.client.post(path, json=body, headers=headers)


async def test_token_alone_works_and_names_the_end_user(app: App, idp: Issuer) -> None:
    token = idp.token(**ADMINS)
    r = await call(app, "/api/v1/keys", {"userId": "u1"}, bearer(token))
    assert r.status_code == 201, r.text
    r = await call(app, "/api/v1/encrypt", {"userId": "u1", "data": ["hi"]}, bearer(token))
    assert r.status_code == 200
    enc = r.json()["encryptedData"]
    es = idp.token("ec-1", **ADMINS)
    r = await call(app, "/api/v1/decrypt", {"userId": "u1", "data": enc}, bearer(es))
    assert r.json() == {"decryptedData": ["hi"]}
    rows = await audit_rows(app, "key.")
    assert {r.actor for r in rows} == {f"oidc:{ISSUER}#alice"}
    # The seed's shape is unchanged, and other Authorization schemes are not ours.
    assert await app.decrypt("u1", enc) == ["hi"]
    r = await call(
        app,
        "/api/v1/decrypt",
        {"userId": "u1", "data": enc},
        {**app.headers, "Authorization": "Basic eDp5"},
    )
    assert r.status_code == 200


def _refusals(idp: Issuer) -> dict[str, str]:
    mallory = Issuer()
    return {
        "forged": mallory.token(**ADMINS),
        "expired": idp.token(exp=1_000_000, iat=999_000, **ADMINS),
        "wrong-audience": idp.token(aud="other-api", **ADMINS),
        "alg-none": idp.unsigned(**ADMINS),
        "hs256-public-key": idp.hs256_with_public_key(**ADMINS),
        "wrong-issuer": Issuer("https://evil.example.test/").token(**ADMINS),
        "empty": "",
    }


async def test_bad_tokens_are_refused_audited_and_change_nothing(app: App, idp: Issuer) -> None:
    await app.create_key("victim")
    for name, token in _refusals(idp).items():
        before = len(await audit_rows(app, "auth."))
        for path, body in (
            ("/api/v1/keys", {"userId": f"new-{name}"}),
            ("/api/v1/rotate", {"userId": "victim", "data": []}),
            ("/api/v1/tokens/revoked", {"issuer": ISSUER, "jti": "x"}),
        ):
            r = await call(app, path, body, bearer(token))
            assert (r.status_code, error_code(r)) == (401, "AUTH001"), name
        rows = (await audit_rows(app, "auth."))[before:]
        assert len(rows) == 3 and all(x.outcome == "failure" for x in rows), name
    r = await app.get("/api/v1/keys/victim")
    assert r.json()["currentVersion"] == 1
    for name in _refusals(idp):
        assert (await app.get(f"/api/v1/keys/new-{name}")).status_code == 404


async def test_revoked_jti(app: App, idp: Issuer) -> None:
    token = idp.token(jti="revoke-me", **ADMINS)
    r = await call(app, "/api/v1/keys", {"userId": "r1"}, bearer(token))
    assert r.status_code == 201
    body = {"issuer": ISSUER, "jti": "revoke-me"}
    r = await call(
        app, "/api/v1/tokens/revoked", body, bearer(idp.token(scope="strongroom/encrypt"))
    )
    assert (r.status_code, error_code(r)) == (403, "AUTH002")  # not an admin
    r = await app.post("/api/v1/tokens/revoked", body)
    assert r.status_code == 201 and r.json() == {"revoked": True, "alreadyRevoked": False}
    assert (await app.post("/api/v1/tokens/revoked", body)).status_code == 200
    r = await app.post("/api/v1/tokens/revoked", {"issuer": "https://unknown/", "jti": "a"})
    assert r.status_code == 400
    r = await call(app, "/api/v1/keys", {"userId": "r2"}, bearer(token))
    assert (r.status_code, error_code(r)) == (401, "AUTH001")
    assert (await app.get("/api/v1/keys/r2")).status_code == 404
    (row,) = [x for x in await audit_rows(app, "auth.bearer") if x.detail == {"reason": "revoked"}]
    assert row.actor == f"oidc:{ISSUER}#alice"
    r = await app.get("/api/v1/security-events")
    assert "auth.revoked_credential" in {e["rule"] for e in r.json()["events"]}
    # Another replica sees the revocation after its refresh (here: a fresh load).
    oidc = app.services.auth._oidc
    assert oidc is not None
    other = oidc.revoked
    other._snapshot.clear()
    assert await other.is_revoked(ISSUER, "revoke-me", "default")


async def test_unmapped_token_authenticates_but_may_do_nothing(app: App, idp: Issuer) -> None:
    token = idp.token(groups=["unmapped"], scope="openid")
    r = await call(app, "/api/v1/keys", {"userId": "n1"}, bearer(token))
    assert (r.status_code, error_code(r)) == (403, "AUTH002")
    assert (await app.get("/api/v1/keys/n1")).status_code == 404


async def test_key_and_token_get_only_what_both_allow(app: App, idp: Issuer) -> None:
    await app.create_key("both")
    enc = await app.encrypt("both", ["secret"])
    narrow = bearer(idp.token(**ENCRYPT_ONLY), **app.headers)  # admin key + encrypt-only token
    r = await call(app, "/api/v1/encrypt", {"userId": "both", "data": ["x"]}, narrow)
    assert r.status_code == 200
    r = await call(app, "/api/v1/decrypt", {"userId": "both", "data": enc}, narrow)
    assert (r.status_code, error_code(r)) == (403, "AUTH002")
    r = await call(app, "/api/v1/access-keys", {"roles": ["encrypt-only"]}, narrow)
    assert r.status_code == 403
    enc_key = (await issue(app, ["encrypt-only"]))["key"]
    wide = bearer(idp.token(**ADMINS), **{"X-API-Key": enc_key})  # encrypt-only key + admin token
    r = await call(app, "/api/v1/decrypt", {"userId": "both", "data": enc}, wide)
    assert r.status_code == 403
    r = await call(app, "/api/v1/encrypt", {"userId": "both", "data": ["x"]}, wide)
    assert r.status_code == 200
    # A bad token beside a good key is still a refusal, not a fallback to the key.
    r = await call(
        app, "/api/v1/encrypt", {"userId": "both", "data": ["x"]}, bearer("junk", **app.headers)
    )
    assert r.status_code == 401
    # Tenants must agree.
    _, other = await app.services.access.create("acme", ["admin"])
    r = await call(
        app,
        "/api/v1/encrypt",
        {"userId": "both", "data": ["x"]},
        bearer(idp.token(**ADMINS), **{"X-API-Key": other}),
    )
    assert (r.status_code, error_code(r)) == (403, "AUTH002")


def test_combined_grants_never_exceed_a_part() -> None:
    admin = Principal("k", "t", ("admin",))
    enc = Principal("oidc:i#s", "t", ("encrypt-only",))
    both = combine([admin, enc], frozenset({"api_key", "bearer"}), AuthPolicy())
    assert isinstance(both, Combined) and both.tenant == "t"
    assert both.can("keys:encrypt") and not both.can("keys:decrypt")
    assert both.grants == enc.grants and not both.spans_tenants
    sup = Principal("s", "default", ("super-admin",))
    mixed = combine([sup, enc], frozenset({"api_key", "bearer"}), AuthPolicy())
    assert mixed.tenant == "t" and not mixed.spans_tenants
    with pytest.raises(ValueError):
        combine([admin, Principal("x", "u", ("admin",))], frozenset(), AuthPolicy())


@pytest.mark.parametrize(
    "settings_overrides", [{"auth_required_for": {"keys:decrypt": ["bearer"]}}], indirect=True
)
async def test_policy_requires_a_token_for_decrypt(app: App, idp: Issuer) -> None:
    await app.create_key("p1")
    enc = await app.encrypt("p1", ["v"])  # the key alone still encrypts
    r = await app.post("/api/v1/decrypt", {"userId": "p1", "data": enc})
    assert (r.status_code, error_code(r)) == (403, "AUTH002")
    r = await call(
        app,
        "/api/v1/decrypt",
        {"userId": "p1", "data": enc},
        bearer(idp.token(**ADMINS), **app.headers),
    )
    assert r.json() == {"decryptedData": ["v"]}


@pytest.mark.parametrize(
    "settings_overrides",
    [{"auth_methods": ["api_key", "bearer"], "auth_required": ["bearer"]}],
    indirect=True,
)
async def test_policy_requires_a_token_always(app: App, idp: Issuer) -> None:
    r = await app.post("/api/v1/keys", {"userId": "p2"})
    assert (r.status_code, error_code(r)) == (401, "AUTH001")
    (row,) = await audit_rows(app, "auth.policy")
    assert row.detail == {"reason": "method-required"}
    r = await call(
        app, "/api/v1/keys", {"userId": "p2"}, bearer(idp.token(**ADMINS), **app.headers)
    )
    assert r.status_code == 201


@pytest.mark.parametrize("settings_overrides", [{"auth_methods": ["api_key"]}], indirect=True)
async def test_bearer_not_accepted_is_ignored(app: App, idp: Issuer) -> None:
    r = await call(app, "/api/v1/keys", {"userId": "p3"}, bearer(idp.token(**ADMINS)))
    assert (r.status_code, error_code(r)) == (401, "AUTH001")
    r = await call(app, "/api/v1/keys", {"userId": "p3"}, bearer("junk", **app.headers))
    assert r.status_code == 201  # as before bearer tokens existed


async def test_token_never_in_logs_audit_or_errors(
    app: App, idp: Issuer, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    canary = "CANARY-b3a1c9"
    await app.create_key("c1")
    tokens = [
        idp.token(groups=[canary, "strongroom-admins"], jti=canary, email=canary),
        idp.token(sub=canary, aud=canary),
        idp.token(sub=canary, exp=1, iat=0),
        idp.hs256_with_public_key(sub=canary),
        idp.unsigned(sub=canary),
        canary,
    ]
    bodies, codes = [], []
    for t in tokens:
        r = await call(app, "/api/v1/encrypt", {"userId": "c1", "data": ["x"]}, bearer(t))
        bodies.append(r.text)
        codes.append(r.status_code)
    assert codes == [200] + [401] * 5
    out, err = capfd.readouterr()
    rows = await audit_rows(app)
    audit = repr([(r.actor, r.target, r.detail, r.action, r.tenant_id) for r in rows])
    for where, content in (("logs", out + err + caplog.text), ("errors", "".join(bodies))):
        assert canary not in content, where
        for t in tokens:
            assert t not in content, where
    assert canary not in audit and not any(t in audit for t in tokens)


async def test_token_group_may_name_a_custom_role(app: App, idp: Issuer) -> None:
    body = {"grants": [{"permission": "keys:read", "scope": "tenant"}]}
    r = await app.client.put("/api/v1/roles/key-reader", json=body, headers=app.headers)
    assert r.status_code == 201, r.text
    # Map a group to the custom role (the verifier reads the same issuer config).
    app.settings.auth.oidc.issuers[0].group_roles["readers"] = ["key-reader"]
    await app.create_key("cr-user")
    token = idp.token(groups=["readers"])
    r = await app.client.get("/api/v1/keys/cr-user", headers=bearer(token))
    assert r.status_code == 200, r.text
    r = await call(app, "/api/v1/encrypt", {"userId": "cr-user", "data": ["x"]}, bearer(token))
    assert r.status_code == 403
