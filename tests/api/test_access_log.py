"""One structured access-log line per request (issue #15, item 8; seed 001's access-log
example): request id, client address, user agent, key id / OAuth client id, endpoint,
method, status and response time; never a token, a key, a raw path or a body."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import structlog.testing

from tests.api.conftest import App
from tests.oidc_support import Issuer, JwksServer, issuer_config, serve

FIELDS = {
    "event",
    "log_level",
    "request_id",
    "client_ip",
    "user_agent",
    "api_key_id",
    "oauth_client_id",
    "endpoint",
    "method",
    "status_code",
    "response_time_ms",
}


@pytest.fixture(scope="module")
def idp() -> Issuer:
    return Issuer()


@pytest.fixture(scope="module")
def jwks(idp: Issuer) -> Iterator[JwksServer]:
    yield from serve(idp)


@pytest.fixture
def settings_overrides(jwks: JwksServer, request: pytest.FixtureRequest) -> dict[str, Any]:
    return {"oidc_issuers": [issuer_config(jwks.uri)], **getattr(request, "param", {})}


@contextmanager
def access_lines() -> Iterator[list[dict[str, Any]]]:
    """The access-log events of the block, as structlog hands them to the renderer."""
    lines: list[dict[str, Any]] = []
    with structlog.testing.capture_logs() as logs:
        yield lines
    lines += [dict(e) for e in logs if e["event"] == "access"]


async def test_one_line_per_request_with_the_seed_fields(app: App) -> None:
    made, key = await app.services.access.create("default", ["admin"], "logged")
    await app.create_key("log-user-4e1c")
    with access_lines() as lines:
        r = await app.client.post(
            "/api/v1/encrypt",
            json={"userId": "log-user-4e1c", "data": ["canary-body-91ab"]},
            headers={"X-API-Key": key, "X-Request-Id": "acc-1", "User-Agent": "EmailClient/1.0"},
        )
        assert r.status_code == 200
        r = await app.client.get("/api/v1/keys/nobody-here", headers={"X-Request-Id": "acc-2"})
        assert r.status_code == 401
    assert [line["request_id"] for line in lines] == ["acc-1", "acc-2"]
    first, second = lines
    assert set(first) == FIELDS
    assert first["client_ip"] == "203.0.113.7"
    assert first["user_agent"] == "EmailClient/1.0"
    assert first["api_key_id"] == made and first["oauth_client_id"] is None
    assert (first["endpoint"], first["method"], first["status_code"]) == (
        "/api/v1/encrypt",
        "POST",
        200,
    )
    assert isinstance(first["response_time_ms"], float) and first["response_time_ms"] >= 0
    assert second["endpoint"] == "/api/v1/keys/{userId}" and second["status_code"] == 401
    assert second["api_key_id"] is None
    for secret in (key, "canary-body-91ab", "log-user-4e1c", "nobody-here"):
        assert secret not in json.dumps(lines)


async def test_a_bearer_request_logs_its_oauth_client_not_its_token(
    app: App, idp: Issuer, capsys: pytest.CaptureFixture[str]
) -> None:
    token = idp.token(groups=["strongroom-admins"], azp="client_5678")
    with access_lines() as lines:
        r = await app.client.get(
            "/api/v1/keys/someone",
            headers={"Authorization": f"Bearer {token}", "X-Request-Id": "acc-3"},
        )
    assert r.status_code == 404
    [line] = lines
    assert line["oauth_client_id"] == "client_5678" and line["api_key_id"] is None
    assert token not in json.dumps(lines) + capsys.readouterr().out


@pytest.mark.parametrize(
    "settings_overrides", [{"audit_sensitive_identifiers": ["clientAddr"]}], indirect=True
)
async def test_no_address_where_addresses_are_sensitive(app: App) -> None:
    with access_lines() as lines:
        await app.client.get("/api/v1/keys/x", headers=app.headers)
    [line] = lines
    assert line["client_ip"] is None and "203.0.113.7" not in json.dumps(lines)
