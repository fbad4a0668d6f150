"""Shares of vault versions, end to end over HTTP with the real vault wired
(services/container.py): only what the caller may read can be shared, the share
holds its own sealed copy, and destroying or deleting the version ends its shares."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import select, text

from strongroom.store.models import AuditRecord
from tests.api.conftest import App
from tests.api.secret_helpers import call, code, get, key_with_grants, put
from tests.api.share_helpers import SHARES, redeem, sealed_of, share_rows

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


async def _actions(app: App, action: str) -> list[tuple[str, dict[str, object]]]:
    await app.services.alerts.drain()
    async with app.services.db.read() as s:
        q = select(AuditRecord.target, AuditRecord.detail).where(AuditRecord.action == action)
        rows = (await s.execute(q)).all()
    # The path is private: only its keyed tag is stored (never the path itself).
    return [(str(t), {k: v for k, v in (d or {}).items() if k != "hmac"}) for t, d in rows]


async def test_a_soft_delete_ends_the_versions_shares_and_undelete_does_not_restore(
    app: App,
) -> None:
    await put(app, PATH, {"key": "sk_live_canary_v1"})
    await put(app, PATH, {"key": "sk_live_canary_v2"})
    first = (await app.post(SHARES, source(1))).json()
    second = (await app.post(SHARES, source(2))).json()
    sid = first["share"]["id"]

    deleted = await call(app, "POST", f"/delete/{PATH}", json={"versions": [1]})
    assert deleted.status_code == 200, deleted.text
    assert await sealed_of(app, sid) is None  # wiped in the delete's own transaction
    assert (await app.get(f"{SHARES}/{sid}")).json()["state"] == "revoked"
    assert (await redeem(app, first["token"])).status_code == 404
    ended = await _actions(app, "share.end")
    assert ended == [(sid, {"reason": "source-deleted", "sourceVersion": 1})]

    # Undeleting the version brings the value back to the vault, not to the share.
    undone = await call(app, "POST", f"/undelete/{PATH}", json={"versions": [1]})
    assert undone.status_code == 200, undone.text
    assert (await redeem(app, first["token"])).status_code == 404
    assert (await app.get(f"{SHARES}/{sid}")).json()["state"] == "revoked"
    # The other version's share is untouched.
    opened = await redeem(app, second["token"])
    assert opened.status_code == 200
    assert json.loads(opened.json()["value"]) == {"key": "sk_live_canary_v2"}


async def test_a_version_that_stopped_serving_by_itself_reveals_nothing(app: App) -> None:
    """Deleted without the share hook (deleteVersionAfter, or a crash between the
    vault's steps: here a raw UPDATE): the redeem asks the vault, ends the share and
    reveals nothing."""
    await put(app, PATH, {"key": "sk_live_canary_v1"})
    made = (await app.post(SHARES, source(1))).json()
    sid = made["share"]["id"]
    async with app.services.db.transaction() as s:
        await s.execute(
            text("UPDATE secret_versions SET deleted_at = :t"), {"t": datetime.now(UTC)}
        )
    r = await redeem(app, made["token"])
    assert r.status_code == 404 and "sk_live" not in r.text
    assert await sealed_of(app, sid) is None
    assert (await app.get(f"{SHARES}/{sid}")).json()["state"] == "revoked"
    assert [d["reason"] for _, d in await _actions(app, "share.end")] == ["source-gone"]
    # The vault's own read agrees: the version is gone, not served.
    assert (await get(app, PATH)).status_code in (404, 410)
