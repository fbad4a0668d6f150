"""Shares of real vault versions (the vault wired in services/container.py): only
what the creator may read can be shared; destroying the version or deleting the
secret deletes its shares."""

from __future__ import annotations

from typing import Any

from tests.api.access_helpers import issue
from tests.api.conftest import App
from tests.api.share_helpers import SHARES, redeem, share_rows

VAULT = "/api/v1/secrets"


async def _write(app: App, path: str, data: dict[str, Any]) -> int:
    r = await app.client.put(f"{VAULT}/data/{path}", json={"data": data}, headers=app.headers)
    assert r.status_code == 200, r.text
    return int(r.json()["metadata"]["version"])


async def _share(app: App, path: str, version: int, key: str | None = None) -> Any:
    body = {"source": {"path": path, "version": version}, "expiresInSeconds": 600, "views": 2}
    return await app.post(SHARES, body, key=key)


async def test_share_a_version_then_destroy_it(app: App) -> None:
    v1 = await _write(app, "apps/billing/stripe", {"apiKey": "sk_live_first"})
    v2 = await _write(app, "apps/billing/stripe", {"apiKey": "sk_live_second"})
    first = await _share(app, "apps/billing/stripe", v1)
    second = await _share(app, "apps/billing/stripe", v2)
    assert first.status_code == 201, first.text
    assert first.json()["share"]["source"] == {"path": "apps/billing/stripe", "version": v1}
    r = await redeem(app, first.json()["token"])
    assert r.status_code == 200 and r.json()["value"] == '{"apiKey":"sk_live_first"}'
    missing = await _share(app, "apps/billing/stripe", 9)
    assert missing.status_code == 404  # the vault's own answer
    body = {"versions": [v1]}
    r = await app.client.post(
        f"{VAULT}/destroy/apps/billing/stripe", json=body, headers=app.headers
    )
    assert r.status_code == 200, r.text
    assert (await redeem(app, first.json()["token"])).status_code == 404
    assert await share_rows(app) == 1  # the share of v1 is deleted, v2's stays
    r = await app.client.delete(f"{VAULT}/metadata/apps/billing/stripe", headers=app.headers)
    assert r.status_code == 204, r.text
    assert (await redeem(app, second.json()["token"])).status_code == 404
    assert await share_rows(app) == 0


async def test_only_what_the_creator_may_read(app: App) -> None:
    await _write(app, "apps/billing/stripe", {"k": "billing"})
    await _write(app, "apps/hr/payroll", {"k": "hr"})
    role = {
        "grants": [
            {"permission": "shares:create", "scope": "tenant"},
            {"permission": "secrets:read", "scope": "tenant", "resource": "apps/billing/*"},
        ]
    }
    r = await app.client.put("/api/v1/roles/billing-sharer", json=role, headers=app.headers)
    assert r.status_code == 201, r.text
    key = (await issue(app, ["billing-sharer"]))["key"]
    assert (await _share(app, "apps/billing/stripe", 1, key)).status_code == 201
    denied = await _share(app, "apps/hr/payroll", 1, key)
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "AUTH002"
    assert await share_rows(app) == 1
