"""Helpers for the stored API keys' API tests."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.conftest import App

PROJECTS = "/api/v1/projects"


def keys_url(project: str, key: str = "") -> str:
    return f"{PROJECTS}/{project}/api-keys" + (f"/{key}" if key else "")


async def req(app: App, method: str, url: str, key: str | None = None, **kw: Any) -> httpx.Response:
    return await app.client.request(method, url, headers={"X-API-Key": key or app.admin_key}, **kw)


async def project(app: App, name: str) -> None:
    r = await req(app, "POST", PROJECTS, json={"name": name})
    assert r.status_code == 201, r.text


async def stored(app: App, proj: str, name: str, value: str, **extra: Any) -> dict[str, Any]:
    r = await req(app, "POST", keys_url(proj), json={"name": name, "value": value, **extra})
    assert r.status_code == 201, r.text
    return dict(r.json())


def code(r: httpx.Response) -> str:
    return str(r.json()["error"]["code"])
