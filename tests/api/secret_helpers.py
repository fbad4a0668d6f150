"""Helpers for the vault's API tests."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.access_helpers import issue
from tests.api.conftest import App

BASE = "/api/v1/secrets"


async def put(
    app: App, path: str, data: dict[str, Any], key: str | None = None, **extra: Any
) -> httpx.Response:
    headers = {"X-API-Key": key or app.admin_key}
    return await app.client.put(
        f"{BASE}/data/{path}", json={"data": data, **extra}, headers=headers
    )


async def get(app: App, path: str, key: str | None = None, **params: Any) -> httpx.Response:
    headers = {"X-API-Key": key or app.admin_key}
    return await app.client.get(f"{BASE}/data/{path}", params=params, headers=headers)


async def call(
    app: App, method: str, url: str, key: str | None = None, **kw: Any
) -> httpx.Response:
    headers = {"X-API-Key": key or app.admin_key}
    return await app.client.request(method, f"{BASE}{url}", headers=headers, **kw)


async def key_with_grants(app: App, role: str, grants: list[dict[str, str]]) -> str:
    """An access key holding one custom role with ``grants``."""
    r = await app.client.put(f"/api/v1/roles/{role}", json={"grants": grants}, headers=app.headers)
    assert r.status_code in (200, 201), r.text
    made = await issue(app, [role])
    return str(made["key"])


def code(r: httpx.Response) -> str:
    return str(r.json()["error"]["code"])
