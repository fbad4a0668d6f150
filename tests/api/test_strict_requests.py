"""Requests are strict (issue #15, item 16): an unknown field is refused with its name
instead of being ignored (a misspelled ``contxt`` used to encrypt without the context
and answer 200); a validation error names the field and what is allowed, never the
value sent; a bad query is REQ004, a bad body ENC001."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.conftest import App
from tests.api.state import key_state

CANARY = "canary-5c1f"


def error(r: httpx.Response) -> dict[str, Any]:
    body: dict[str, Any] = r.json()["error"]
    return body


async def test_a_misspelled_context_is_refused_with_its_name(app: App) -> None:
    await app.create_key("strict")
    before = await key_state(app)
    r = await app.post(
        "/api/v1/encrypt", {"userId": "strict", "data": [CANARY], "contxt": "ctx-7e2a"}
    )
    assert r.status_code == 400 and error(r)["code"] == "ENC001"
    assert error(r)["details"]["errors"] == [{"loc": ["body", "contxt"], "type": "extra_forbidden"}]
    assert CANARY not in r.text and "ctx-7e2a" not in r.text
    assert await key_state(app) == before


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/api/v1/keys", {"userId": "s2"}),
        ("POST", "/api/v1/decrypt", {"userId": "strict", "data": []}),
        ("POST", "/api/v1/rotate", {"userId": "strict", "data": []}),
        ("POST", "/api/v1/rewrap", {"userId": "strict", "data": []}),
        ("PATCH", "/api/v1/keys/strict/policy", {"rotationPeriodDays": 30}),
        ("POST", "/api/v1/keys/strict/deletion", {"waitingPeriodDays": 1}),
        ("POST", "/api/v1/access-keys", {"roles": ["user"]}),
        ("PUT", "/api/v1/roles/billing", {"grants": [{"permission": "keys:encrypt"}]}),
        ("POST", "/api/v1/tokens/revoked", {"issuer": "https://idp.example", "jti": "j"}),
    ],
)
async def test_every_body_refuses_unknown_fields(
    app: App, method: str, path: str, body: dict[str, Any]
) -> None:
    await app.create_key("strict")
    r = await app.client.request(method, path, json={**body, "extra": CANARY}, headers=app.headers)
    assert r.status_code == 400 and error(r)["code"] == "ENC001", r.text
    assert {"loc": ["body", "extra"], "type": "extra_forbidden"} in error(r)["details"]["errors"]
    assert CANARY not in r.text


async def test_errors_name_the_allowed_values_but_never_the_input(app: App) -> None:
    await app.create_key("strict")
    r = await app.post("/api/v1/rotate", {"userId": "strict", "data": [], "reason": CANARY})
    [problem] = error(r)["details"]["errors"]
    assert problem["loc"] == ["body", "reason"] and problem["type"] == "literal_error"
    assert problem["allowed"] == "'on-demand', 'compliance' or 'compromise'"
    r = await app.post("/api/v1/keys", {"userId": "s3", "keyType": CANARY})
    [problem] = error(r)["details"]["errors"]
    assert problem["loc"] == ["body", "keyType"] and "x25519-hpke" in problem["allowed"]
    r = await app.post("/api/v1/keys", {"userId": "s3", "rotationPeriodDays": 99999})
    [problem] = error(r)["details"]["errors"]
    assert problem == {
        "loc": ["body", "rotationPeriodDays"],
        "type": "less_than_equal",
        "maximum": 3650,
    }
    assert CANARY not in str(error(r)) and "99999" not in r.text


async def test_an_integral_number_is_an_integer_and_a_fraction_is_not(app: App) -> None:
    await app.create_key("strict")
    path = "/api/v1/keys/strict/policy"
    r = await app.client.patch(path, json={"rotationPeriodDays": 30.0}, headers=app.headers)
    assert r.status_code == 200 and r.json()["rotationPeriodDays"] == 30
    r = await app.client.patch(path, json={"rotationPeriodDays": 30.5}, headers=app.headers)
    assert r.status_code == 400 and error(r)["code"] == "ENC001"
    r = await app.client.patch(path, json={"rotationPeriodDays": "30"}, headers=app.headers)
    assert r.status_code == 400


@pytest.mark.parametrize(
    "query",
    [
        {"to": "0.5"},  # pydantic alone takes it as a Unix time
        {"from": "1700000000"},
        {"from": "2026-01-01T00:00:00"},  # no offset
        {"cursor": "abc"},
        {"limit": "0"},
        {"outcome": "maybe"},
        {"tenat": "default"},  # unknown: refused, not ignored
    ],
)
async def test_a_bad_audit_query_is_req004_naming_the_parameter(
    app: App, query: dict[str, str]
) -> None:
    r = await app.client.get("/api/v1/audit/records", params=query, headers=app.headers)
    assert r.status_code == 400 and error(r)["code"] == "REQ004", r.text
    [name] = query
    assert error(r)["details"]["errors"][0]["loc"] == ["query", name]
    assert query[name] not in str(error(r)["details"])


@pytest.mark.parametrize(
    "path", ["/api/v1/access-keys", "/api/v1/security-events", "/api/v1/audit/verify"]
)
async def test_every_query_refuses_unknown_parameters(app: App, path: str) -> None:
    r = await app.client.get(path, params={"limt": "5"}, headers=app.headers)
    assert r.status_code == 400 and error(r)["code"] == "REQ004", r.text
    assert error(r)["details"]["errors"] == [{"loc": ["query", "limt"], "type": "extra_forbidden"}]
    assert (await app.client.get(path, headers=app.headers)).status_code == 200


async def test_a_well_formed_audit_query_is_served(app: App) -> None:
    query = {"from": "2026-01-01T00:00:00Z", "to": "2999-01-01T00:00:00.5+02:00", "cursor": "1"}
    r = await app.client.get("/api/v1/audit/records", params=query, headers=app.headers)
    assert r.status_code == 200, r.text


async def test_role_names_are_checked_by_the_schema_and_the_server(app: App) -> None:
    grants = {"grants": [{"permission": "keys:encrypt"}]}
    for name, status in (("Bad Name", 400), ("user", 400), ("billing", 201)):
        r = await app.client.put(f"/api/v1/roles/{name}", json=grants, headers=app.headers)
        assert r.status_code == status, (name, r.text)
    r = await app.post("/api/v1/access-keys", {"roles": ["Not A Role"]})
    assert r.status_code == 400 and error(r)["details"]["errors"][0]["loc"] == [
        "body",
        "roles",
        "0",
    ]


async def test_a_malformed_content_length_is_req005(app: App) -> None:
    r = await app.client.post(
        "/api/v1/encrypt",
        content=b"{}",
        headers={**app.headers, "content-length": "x", "content-type": "application/json"},
    )
    assert r.status_code == 400 and error(r)["code"] == "REQ005"
