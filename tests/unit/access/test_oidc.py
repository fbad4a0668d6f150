"""Bearer-token verification against a real JWKS served over HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from tests.oidc_support import (
    AUDIENCE,
    COGNITO_CLIENT,
    COGNITO_ISSUER,
    ISSUER,
    Claims,
    Issuer,
    JwksServer,
    issuer_config,
    serve,
)

from strongroom.access.models import OWNS_NO_KEY
from strongroom.access.oidc import OidcVerifier
from strongroom.audit.models import AuditEvent
from strongroom.config import OidcIssuer
from strongroom.errors import AuthenticationFailed, ServiceUnavailable


class Audit:
    def __init__(self) -> None:
        self.events: list[AuditEvent] = []

    async def append(self, event: AuditEvent) -> None:
        self.events.append(event)


class Revoked:
    def __init__(self) -> None:
        self.ids: set[tuple[str, str, str]] = set()

    async def is_revoked(self, issuer: str, jti: str, tenant: str) -> bool:
        return (issuer, jti, tenant) in self.ids

    async def close(self) -> None:
        pass


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def idp() -> Issuer:
    return Issuer()


@pytest.fixture(scope="module")
def cognito() -> Issuer:
    return Issuer(COGNITO_ISSUER)


@pytest.fixture
def jwks(idp: Issuer) -> Iterator[JwksServer]:
    yield from serve(idp)


@pytest.fixture
def cognito_jwks(cognito: Issuer) -> Iterator[JwksServer]:
    yield from serve(cognito)


class Env:
    def __init__(self, verifier: OidcVerifier, audit: Audit, revoked: Revoked, clock: Clock):
        self.verifier, self.audit, self.revoked, self.clock = verifier, audit, revoked, clock

    async def ok(self, token: str) -> Any:
        return await self.verifier.authenticate(token, "rid-1", "198.51.100.9")

    async def refused(self, token: str) -> str:
        """The audited reason code of a refusal."""
        before = len(self.audit.events)
        with pytest.raises(AuthenticationFailed) as err:
            await self.ok(token)
        assert err.value.code == "AUTH001" and err.value.text == "invalid or missing credentials"
        (event,) = self.audit.events[before:]
        assert event.action == "auth.bearer" and event.outcome.value == "failure"
        return str((event.detail or {})["reason"])


@pytest.fixture
async def env(jwks: JwksServer, cognito_jwks: JwksServer) -> AsyncIterator[Env]:
    audit, revoked, clock = Audit(), Revoked(), Clock()
    issuers = [
        OidcIssuer(**issuer_config(jwks.uri)),
        OidcIssuer(
            issuer=COGNITO_ISSUER,
            jwks_uri=cognito_jwks.uri,
            cognito=True,
            client_ids=[COGNITO_CLIENT],
            groups_claim="cognito:groups",
            group_roles={"key-admins": ["key-admin"]},
            tenant_claim="custom:tenant",
        ),
    ]
    # The fakes implement only what the verifier calls (RevokedTokens is a class, not a
    # protocol, and AuditSink has more methods).
    verifier = OidcVerifier(issuers, audit, revoked, jwks_min_refresh=60.0, clock=clock)  # type: ignore[arg-type]
    yield Env(verifier, audit, revoked, clock)
    await verifier.close()


async def test_valid_rs256_and_es256(env: Env, idp: Issuer) -> None:
    for kid in ("rsa-1", "ec-1"):
        who = await env.ok(idp.token(kid, groups=["strongroom-admins"]))
        assert who.id == f"oidc:{ISSUER}#alice"
        assert who.tenant == "default" and who.roles == ("admin",)
        assert who.can("keys:decrypt")
    assert env.audit.events == []


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"exp": 1_000_000, "iat": 999_000}, "token-expired"),
        ({"nbf": 4_000_000_000}, "not-yet-valid"),
        ({"iat": 4_000_000_000, "exp": 4_000_000_100}, "not-yet-valid"),
        ({"aud": "someone-else"}, "audience"),
        ({"aud": None}, "claims"),
        ({"sub": None}, "claims"),
        ({"exp": None}, "claims"),
        ({"iss": "https://evil.example.test/"}, "issuer"),
        ({"iat": 1_900_000_000 - 200_000, "exp": 1_900_000_000}, "lifetime"),
    ],
)
async def test_claims_are_checked(
    env: Env, idp: Issuer, claims: dict[str, Any], reason: str
) -> None:
    if reason == "lifetime":  # a long-lived token that is otherwise valid now
        import time

        now = int(time.time())
        claims = {"iat": now - 10, "exp": now + 200_000}
    assert await env.refused(idp.token(**claims)) == reason


async def test_leeway_accepts_small_clock_skew(env: Env, idp: Issuer) -> None:
    import time

    now = int(time.time())
    await env.ok(idp.token(exp=now - 10, iat=now - 100))  # within the 30 s default
    await env.ok(idp.token(nbf=now + 10))


async def test_alg_none_and_hs256_with_the_public_key_are_refused(env: Env, idp: Issuer) -> None:
    assert await env.refused(idp.unsigned()) == "algorithm"
    assert await env.refused(idp.hs256_with_public_key()) == "algorithm"
    assert await env.refused(idp.token(alg="RS512")) == "algorithm"


async def test_forged_signature_is_refused(env: Env, idp: Issuer) -> None:
    mallory = Issuer()  # same kid, other key
    assert await env.refused(mallory.token("rsa-1")) == "signature"
    good = idp.token()
    head, _, sig = good.split(".")
    tampered = idp.token(sub="root").split(".")[1]
    assert await env.refused(f"{head}.{tampered}.{sig}") == "signature"
    assert await env.refused("not-a-jwt") == "malformed"


async def test_jwk_type_must_match_the_algorithm(env: Env, idp: Issuer) -> None:
    # An ES256 header naming the RSA key (and vice versa) is never tried.
    assert await env.refused(idp.token("rsa-1", headers={"kid": "ec-1"})) == "key-type"
    forged = Issuer()
    forged.private["rsa-1"] = forged.private["ec-1"]  # EC key, kid of the RSA JWK
    assert await env.refused(forged.token("rsa-1", alg="ES256")) == "key-type"


async def test_jku_x5u_and_embedded_keys_are_ignored(env: Env, idp: Issuer) -> None:
    mallory = Issuer()
    mallory.private["evil"] = mallory.private["rsa-1"]
    with JwksServer() as elsewhere:
        elsewhere.keys = mallory.jwks("evil")
        headers = {"jku": elsewhere.uri, "x5u": elsewhere.uri, "jwk": mallory.jwk("evil")}
        assert await env.refused(mallory.token("evil", headers=headers)) == "unknown-kid"
        assert elsewhere.hits == 0


async def test_unknown_kid_refetches_once_then_waits(
    env: Env, idp: Issuer, jwks: JwksServer
) -> None:
    await env.ok(idp.token())
    assert jwks.hits == 1
    idp.add_rsa("rsa-2")
    jwks.keys = idp.jwks()  # the issuer rotates its keys
    assert await env.refused(idp.token("rsa-2")) == "unknown-kid"  # fetched < 1 min ago
    assert jwks.hits == 1
    env.clock.now += 61
    await env.ok(idp.token("rsa-2"))  # unknown kid: one refetch finds it
    assert jwks.hits == 2
    idp.add_ec("ec-2")
    jwks.keys = idp.jwks()
    for _ in range(5):  # within the minute: no refetch, however many unknown kids arrive
        assert await env.refused(idp.token("ec-2")) == "unknown-kid"
        assert await env.refused(idp.token("rsa-1", headers={"kid": "made-up"})) == "unknown-kid"
    assert jwks.hits == 2
    env.clock.now += 61
    await env.ok(idp.token("ec-2"))
    assert jwks.hits == 3


async def test_concurrent_first_tokens_fetch_the_keys_once(
    env: Env, idp: Issuer, jwks: JwksServer
) -> None:
    tokens = [idp.token() for _ in range(100)]
    await asyncio.gather(*(env.ok(t) for t in tokens))
    assert jwks.hits == 1


async def test_cognito_access_token(env: Env, cognito: Issuer) -> None:
    access: Claims = {"aud": None, "token_use": "access", "client_id": COGNITO_CLIENT}
    extra: Claims = {"cognito:groups": ["key-admins", "other"], "custom:tenant": "acme"}
    # One merged mapping per call: mypy 2.4.1 crashes on two TypedDict ``**`` arguments.
    who = await env.ok(cognito.token(**(access | extra)))
    assert who.id == f"oidc:{COGNITO_ISSUER}#alice" and who.tenant == "acme"
    assert who.roles == ("key-admin",) and who.can("keys:rotate") and not who.can("audit:read")
    assert (
        await env.refused(cognito.token(**(access | {"client_id": "other"} | extra))) == "client-id"
    )
    assert await env.refused(cognito.token(**(access | {"token_use": "id"} | extra))) == "token-use"
    assert await env.refused(cognito.token(**access)) == "tenant"  # no tenant claim


async def test_groups_and_scopes_map_to_roles_and_permissions(env: Env, idp: Issuer) -> None:
    enc = await env.ok(idp.token(scope="openid strongroom/encrypt"))
    assert enc.can("keys:encrypt") and enc.can("keys:read-public")
    assert not enc.can("keys:decrypt") and not enc.can("keys:create")
    assert not enc.can("keys:encrypt", "other-tenant")
    dec = await env.ok(idp.token(scope="strongroom/decrypt", groups=["auditors"]))
    assert dec.roles == ("auditor", "decrypt-only") and dec.can("keys:decrypt")
    nothing = await env.ok(idp.token(scope="openid profile", groups=["unmapped"]))
    assert nothing.roles == () and not nothing.grants
    assert not any(nothing.can(p) for p in ("keys:read", "keys:encrypt", "audit:read"))


async def test_revoked_jti(env: Env, idp: Issuer) -> None:
    token = idp.token(jti="jti-123")
    await env.ok(token)
    env.revoked.ids.add((ISSUER, "jti-123", "other-tenant"))
    await env.ok(token)  # revoked for another tenant only
    env.revoked.ids.add((ISSUER, "jti-123", "default"))
    assert await env.refused(token) == "revoked"
    event = env.audit.events[-1]
    assert event.actor.principal == f"oidc:{ISSUER}#alice"  # verified before it is named


async def test_token_never_in_audit_or_logs(
    env: Env, idp: Issuer, caplog: pytest.LogCaptureFixture
) -> None:
    canary = "CANARY-7f3e9b"
    caplog.set_level(logging.DEBUG)
    tokens = [
        idp.token(sub=canary, aud="wrong", groups=[canary]),
        idp.token(sub=f"x{canary}", exp=1, iat=0),
        idp.hs256_with_public_key(sub=canary),
    ]
    for t in tokens:
        with pytest.raises(AuthenticationFailed) as err:
            await env.ok(t)
        assert canary not in str(err.value) and t not in repr(err.value.detail)
    dump = repr(env.audit.events) + caplog.text
    assert canary not in dump
    assert not any(t.split(".")[1][:20] in dump for t in tokens)


def test_issuer_settings_are_validated() -> None:
    with pytest.raises(ValueError, match="audiences"):
        OidcIssuer(issuer=ISSUER, jwks_uri="https://idp.example.test/jwks")
    with pytest.raises(ValueError, match="client_ids"):
        OidcIssuer(issuer=ISSUER, jwks_uri="https://idp.example.test/jwks", cognito=True)
    with pytest.raises(ValueError, match="https"):
        OidcIssuer(issuer=ISSUER, jwks_uri="http://idp.example.test/jwks", audiences=[AUDIENCE])
    with pytest.raises(ValueError):  # as read from the environment: untyped until validated
        OidcIssuer.model_validate(
            {
                "issuer": ISSUER,
                "jwks_uri": "https://x/j",
                "audiences": [AUDIENCE],
                "algorithms": ["HS256"],
            }
        )


async def test_unreachable_jwks_fails_closed(idp: Issuer) -> None:
    with JwksServer() as gone:
        uri = gone.uri  # the port is closed again once the server stops
    audit = Audit()
    verifier = OidcVerifier([OidcIssuer(**issuer_config(uri))], audit, Revoked())  # type: ignore[arg-type]
    try:
        with pytest.raises(ServiceUnavailable):
            await verifier.authenticate(idp.token(), "rid", None)
    finally:
        await verifier.close()
    assert [e.detail for e in audit.events] == [{"reason": "jwks-unavailable"}]


async def test_own_key_comes_from_the_subject_when_it_is_a_user_id(env: Env, idp: Issuer) -> None:
    assert (await env.ok(idp.token(sub="alice@example.com"))).own_key == "alice@example.com"
    for sub in ("auth0|123", "users/42"):  # valid subjects, never userIds
        assert (await env.ok(idp.token(sub=sub))).own_key == OWNS_NO_KEY


MCP_RESOURCE = "https://strongroom.example.test/mcp"


async def test_an_edge_audience_replaces_the_issuers_audiences(env: Env, idp: Issuer) -> None:
    """The MCP edge is its own OAuth resource (RFC 8707): a token for the REST API's
    audience is refused there, one naming the resource is accepted, and the issuer's
    configured audiences never stand in for it."""

    async def at_edge(token: str) -> Any:
        return await env.verifier.authenticate(token, "rid-2", None, MCP_RESOURCE)

    who = await at_edge(idp.token("rsa-1", aud=MCP_RESOURCE, groups=["strongroom-admins"]))
    assert who.id == f"oidc:{ISSUER}#alice"
    for aud in (AUDIENCE, MCP_RESOURCE + "/", "https://strongroom.example.test/"):
        with pytest.raises(AuthenticationFailed):
            await at_edge(idp.token("rsa-1", aud=aud))
        assert env.audit.events[-1].detail == {"reason": "audience"}
    # And the REST API's check is unchanged: the MCP resource is not one of its audiences.
    assert await env.refused(idp.token("rsa-1", aud=MCP_RESOURCE)) == "audience"


async def test_cognito_tokens_cannot_be_bound_to_an_edge_resource(
    env: Env, cognito: Issuer
) -> None:
    claims: Claims = {
        "aud": None,
        "token_use": "access",
        "client_id": COGNITO_CLIENT,
        "custom:tenant": "t1",
    }
    token = cognito.token(**claims)
    assert (await env.ok(token)).tenant == "t1"
    with pytest.raises(AuthenticationFailed):
        await env.verifier.authenticate(token, "rid-3", None, MCP_RESOURCE)
    assert env.audit.events[-1].detail == {"reason": "audience"}
