"""Shares of vault versions, end to end over HTTP with the real vault wired
(services/container.py): only what the caller may read can be shared, the share
holds its own sealed copy, and destroying or deleting the version ends its shares."""

from __future__ import annotations

import json

from tests.api.conftest import App
from tests.api.secret_helpers import call, code, key_with_grants, put
from tests.api.share_helpers import SHARES, redeem, share_rows

PATH = "apps/billing/stripe"


def source(version: int, path: str = PATH) -> dict[str, object]:
    return {"source": {"path": path, "version": version}, "expiresInSeconds": 600, "views": 2}


async def test_a_version_is_shared_and_goes_with_its_destruction(app: App) -> None:
    assert (await put(app, PATH, {"key": "sk_live_canary_v1"})).status_code == 200
    assert (await put(app, PATH, {"key": "sk_live_canary_v2"})).status_code == 200
    r = await app.post(SHARES, source(1))
    assert r.status_code == 201, r.text
    first = r.json()
    second = (await app.post(SHARES, source(2))).json()
    assert first["share"]["source"] == {"path": PATH, "version": 1}
    opened = await redeem(app, first["token"])
    assert opened.status_code == 200
    assert json.loads(opened.json()["value"]) == {"key": "sk_live_canary_v1"}

    destroyed = await call(app, "POST", f"/destroy/{PATH}", json={"versions": [1]})
    assert destroyed.status_code == 200, destroyed.text
    assert (await redeem(app, first["token"])).status_code == 404  # its one view was left
    assert await share_rows(app) == 1  # version 2's share only

    # Deleting the whole secret ends the rest.
    assert (await call(app, "DELETE", f"/metadata/{PATH}")).status_code == 204
    assert (await redeem(app, second["token"])).status_code == 404
    assert await share_rows(app) == 0


async def test_only_what_the_caller_may_read_can_be_shared(app: App) -> None:
    await put(app, PATH, {"key": "sk_live_canary"})
    await put(app, "apps/other/db", {"password": "pw"})
    grants = [
        {"permission": "shares:create"},
        {"permission": "secrets:read", "resource": "apps/other/*"},
    ]
    key = await key_with_grants(app, "other-sharer", grants)
    refused = await app.post(SHARES, source(1), key=key)
    assert refused.status_code == 403 and code(refused) == "AUTH002"
    assert await share_rows(app) == 0
    allowed = await app.post(SHARES, source(1, "apps/other/db"), key=key)
    assert allowed.status_code == 201, allowed.text
    missing = await app.post(SHARES, source(9, "apps/other/db"), key=key)
    assert missing.status_code == 404
    assert await share_rows(app) == 1
