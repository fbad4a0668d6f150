"""Security headers on every response, HSTS only over TLS, and CORS closed unless
exact origins are configured."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pydantic
import pytest

from strongroom.api.app import create_app
from tests.api.conftest import App, make_settings
from tests.api.routes import asgi_app


def assert_hardened(r: httpx.Response) -> None:
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["cache-control"] == "no-store"
    assert r.headers["x-frame-options"] == "DENY"
    assert "content-security-policy" in r.headers


async def test_every_response_carries_the_security_headers(app: App) -> None:
    await app.create_key("h")
    ok = await app.post("/api/v1/encrypt", {"userId": "h", "data": ["secret"]})
    assert ok.status_code == 200
    assert_hardened(ok)
    unauthenticated = await app.client.post("/api/v1/encrypt", json={"userId": "h", "data": []})
    assert unauthenticated.status_code == 401
    assert_hardened(unauthenticated)
    body = b"x" * (app.settings.server.max_body_bytes + 1)
    too_big = await app.client.post("/api/v1/encrypt", content=body, headers=app.headers)
    assert too_big.status_code == 413
    assert too_big.headers["cache-control"] == "no-store"
    docs = await app.client.get("/docs")  # Swagger UI, from this server's own assets
    assert_hardened(docs)
    assert docs.headers["content-security-policy"].startswith("default-src 'self'")
    assert "strict-transport-security" not in ok.headers  # plain HTTP


async def test_hsts_only_over_tls(app: App) -> None:
    transport = httpx.ASGITransport(app=asgi_app(app))
    async with httpx.AsyncClient(transport=transport, base_url="https://strongroom") as tls:
        r = await tls.get("/healthz")
    assert r.headers["strict-transport-security"].startswith("max-age=")


async def test_cors_is_closed_by_default(app: App) -> None:
    r = await app.client.options(
        "/api/v1/encrypt",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in r.headers


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_cors_allows_only_configured_origins(app: App, tmp_path: Path) -> None:
    settings = make_settings(
        app.settings.database.url, tmp_path, cors_allow_origins=["https://app.example.com"]
    )
    application = create_app(settings, app.services)
    transport = httpx.ASGITransport(app=application)
    async with httpx.AsyncClient(transport=transport, base_url="http://strongroom") as client:

        async def preflight(origin: str) -> httpx.Response:
            return await client.options(
                "/api/v1/encrypt",
                headers={
                    "Origin": origin,
                    "Access-Control-Request-Method": "POST",
                    "Access-Control-Request-Headers": "x-api-key,content-type",
                },
            )

        good = await preflight("https://app.example.com")
        assert good.headers["access-control-allow-origin"] == "https://app.example.com"
        assert (
            "access-control-allow-origin" not in (await preflight("https://evil.example")).headers
        )


@pytest.mark.parametrize("origins", [["*"], ["app.example.com"]])
def test_wildcard_or_bare_origins_are_refused(origins: Any, tmp_path: Path) -> None:
    with pytest.raises(pydantic.ValidationError):
        make_settings("sqlite+aiosqlite:///x.db", tmp_path, cors_allow_origins=origins)
