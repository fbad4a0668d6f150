"""Helpers for the share API tests."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import text

from tests.api.conftest import App

SHARES = "/api/v1/shares"
REDEEM = "/api/v1/shares/redeem"


async def make_share(app: App, key: str | None = None, **body: Any) -> dict[str, Any]:
    payload = {"value": "s3cret value", "expiresInSeconds": 3600, **body}
    r = await app.post(SHARES, payload, key=key)
    assert r.status_code == 201, r.text
    return dict(r.json())


async def redeem(
    app: App, token: str, passphrase: str | None = None, key: str | None = None
) -> httpx.Response:
    body: dict[str, Any] = {"token": token}
    if passphrase is not None:
        body["passphrase"] = passphrase
    headers = {"X-API-Key": key} if key else {}
    return await app.client.post(REDEEM, json=body, headers=headers)


async def sealed_of(app: App, share_id: str) -> bytes | None:
    """The stored sealed value, by raw SQL (None: wiped)."""
    async with app.services.db.read() as s:
        row = await s.execute(text("SELECT sealed FROM shares WHERE id = :i"), {"i": share_id})
        value = row.scalar_one()
    return None if value is None else bytes(value)


async def share_rows(app: App) -> int:
    async with app.services.db.read() as s:
        return int((await s.execute(text("SELECT count(*) FROM shares"))).scalar_one())
