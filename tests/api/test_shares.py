"""Shares over HTTP: create, redeem once, passphrases, restrictions, listing,
revocation, the access log, and the errors a holder sees (SQLite and PostgreSQL)."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from sqlalchemy import select

from strongroom.store.models import AuditRecord
from tests.api.access_helpers import issue
from tests.api.conftest import App
from tests.api.share_helpers import SHARES, make_share, redeem, sealed_of


async def test_create_then_redeem_once(app: App) -> None:
    made = await make_share(app, value="the wifi password")
    token, share = made["token"], made["share"]
    assert token.startswith("srs_") and share["id"] not in token
    assert share["state"] == "active" and share["viewsLeft"] == share["maxViews"] == 1
    r = await redeem(app, token)
    assert r.status_code == 200, r.text
    assert r.json()["value"] == "the wifi password" and r.json()["viewsLeft"] == 0
    again = await redeem(app, token)
    assert again.status_code == 404 and again.json()["error"]["code"] == "SHR001"
    assert await sealed_of(app, share["id"]) is None  # the last view wiped the value
    shown = (await app.get(f"{SHARES}/{share['id']}")).json()
    assert shown["state"] == "used" and shown["viewsLeft"] == 0


async def test_gone_looks_like_never_existed(app: App) -> None:
    made = await make_share(app)
    await redeem(app, made["token"])
    used = await redeem(app, made["token"])
    revoked = await make_share(app)
    await app.post(f"{SHARES}/{revoked['share']['id']}/revoke", None)
    answers = [
        used,
        await redeem(app, revoked["token"]),
        await redeem(app, "srs_" + "a" * 52 + "_aaaaaaa"),  # bad checksum
        await redeem(app, made["token"][:-8] + "_" + "b" * 7),
        await redeem(app, "x"),
    ]
    assert {(r.status_code, r.json()["error"]["code"]) for r in answers} == {(404, "SHR001")}
    assert len({r.json()["error"]["message"] for r in answers}) == 1


async def test_several_views_and_binary_values(app: App) -> None:
    raw = bytes(range(256))
    made = await make_share(app, value=base64.b64encode(raw).decode(), encoding="base64", views=3)
    for left in (2, 1, 0):
        r = await redeem(app, made["token"])
        assert r.status_code == 200 and r.json()["viewsLeft"] == left
        assert base64.b64decode(r.json()["value"]) == raw and r.json()["encoding"] == "base64"
    assert (await redeem(app, made["token"])).status_code == 404


async def test_get_and_head_reveal_and_consume_nothing(app: App) -> None:
    made = await make_share(app, value="only-by-post")
    token, sid = made["token"], made["share"]["id"]
    for i in range(10):
        for method in ("GET", "HEAD"):
            # What a link previewer might fetch: the page, the redeem URL, with or
            # without the token as a query, and the management view of the share.
            url = ["/s", "/api/v1/shares/redeem", f"/s?t={token}", f"{SHARES}/{sid}"][i % 4]
            r = await app.client.request(method, url, headers=app.headers)
            assert "only-by-post" not in r.text
            # The page answers both; the API's GETs have no HEAD; redeem only POST.
            api_head = method == "HEAD" and url.startswith("/api/")
            expected = 405 if url.endswith("/redeem") or api_head else 200
            assert r.status_code == expected, (method, url, r.status_code)
    assert (await app.get(f"{SHARES}/{sid}")).json()["viewsLeft"] == 1
    r = await redeem(app, token)
    assert r.status_code == 200 and r.json()["value"] == "only-by-post"


async def test_passphrase_counted_never_a_view(app: App) -> None:
    made = await make_share(app, value="behind a passphrase", passphrase="correct horse")
    token, sid = made["token"], made["share"]["id"]
    stored = await _passphrase_hash(app, sid)
    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")  # parameters kept with it
    for attempt in (None, "wrong", "Correct horse"):
        r = await redeem(app, token, attempt)
        assert r.status_code == 403 and r.json()["error"]["code"] == "SHR002"
    shown = (await app.get(f"{SHARES}/{sid}")).json()
    assert shown["viewsLeft"] == 1 and shown["failedAttempts"] == 3
    r = await redeem(app, token, "correct horse")
    assert r.status_code == 200 and r.json()["value"] == "behind a passphrase"
    outcomes = [
        a["outcome"] for a in (await app.get(f"{SHARES}/{sid}/accesses")).json()["accesses"]
    ]
    assert outcomes == ["passphrase"] * 3 + ["revealed"]


async def test_too_many_wrong_passphrases_end_the_share(app: App) -> None:
    made = await make_share(app, passphrase="pw", views=5)
    token, sid = made["token"], made["share"]["id"]
    codes = [(await redeem(app, token, f"guess{i}")).status_code for i in range(5)]
    assert codes == [403, 403, 403, 403, 404]  # the fifth wrong one locks it
    assert (await redeem(app, token, "pw")).status_code == 404
    assert await sealed_of(app, sid) is None
    assert (await app.get(f"{SHARES}/{sid}")).json()["state"] == "locked"
    rows = await _share_audit(app, sid)
    assert [r.outcome for r in rows].count("failure") >= 5
    assert any((r.detail or {}).get("locked") for r in rows)


async def test_restricted_to_the_tenant(app: App) -> None:
    made = await make_share(app, tenantOnly=True, views=3)
    r = await redeem(app, made["token"])
    assert r.status_code == 401 and r.json()["error"]["code"] == "AUTH001"
    _, other = await app.services.access.create("acme", ["admin"], "other tenant")
    assert (await redeem(app, made["token"], key=other)).status_code == 404
    mine = (await issue(app, ["encrypt-only"]))["key"]  # any principal of the tenant
    r = await redeem(app, made["token"], key=mine)
    assert r.status_code == 200, r.text
    shown = (await app.get(f"{SHARES}/{made['share']['id']}")).json()
    assert shown["viewsLeft"] == 2  # refusals took no view


async def test_restricted_to_named_principals(app: App) -> None:
    alice = await issue(app, ["encrypt-only"])
    bob = await issue(app, ["encrypt-only"])
    made = await make_share(app, principals=[alice["id"]])
    assert made["share"]["tenantOnly"] is True
    assert (await redeem(app, made["token"], key=bob["key"])).status_code == 404
    assert (await redeem(app, made["token"], key=alice["key"])).status_code == 200


async def test_list_show_revoke_and_access_log(app: App) -> None:
    a = await make_share(app, value="first", views=2)
    b = await make_share(app, value="second")
    page = (await app.get(SHARES)).json()
    assert {s["id"] for s in page["shares"]} == {a["share"]["id"], b["share"]["id"]}
    listing = str(page)
    assert "first" not in listing and a["token"] not in listing and "srs_" not in listing
    await redeem(app, a["token"])
    r = await app.post(f"{SHARES}/{a['share']['id']}/revoke", None)
    assert r.status_code == 200 and r.json()["state"] == "revoked"
    assert await sealed_of(app, a["share"]["id"]) is None
    assert (await redeem(app, a["token"])).status_code == 404
    log = (await app.get(f"{SHARES}/{a['share']['id']}/accesses")).json()["accesses"]
    assert [x["outcome"] for x in log] == ["revealed", "gone"]
    assert all(x["actor"] == "anonymous" for x in log)
    again = await app.post(f"{SHARES}/{a['share']['id']}/revoke", None)
    assert again.status_code == 200  # idempotent
    actions = [r.action for r in await _share_audit(app, a["share"]["id"])]
    assert actions.count("share.revoke") == 1 and "share.create" in actions


async def test_own_scope_sees_only_own_shares(app: App) -> None:
    role = {"grants": [{"permission": "shares:*", "scope": "own"}]}
    r = await app.client.put("/api/v1/roles/sharer", json=role, headers=app.headers)
    assert r.status_code == 201, r.text
    sharer = (await issue(app, ["sharer"]))["key"]
    own = await make_share(app, key=sharer)
    theirs = await make_share(app)
    r = await app.client.get(SHARES, headers={"X-API-Key": sharer})
    assert [s["id"] for s in r.json()["shares"]] == [own["share"]["id"]]
    hidden = f"{SHARES}/{theirs['share']['id']}"
    assert (await app.client.get(hidden, headers={"X-API-Key": sharer})).status_code == 404
    r = await app.client.post(f"{hidden}/revoke", headers={"X-API-Key": sharer})
    assert r.status_code == 404
    r = await app.client.post(
        f"{SHARES}/{own['share']['id']}/revoke", headers={"X-API-Key": sharer}
    )
    assert r.status_code == 200
    no_perm = (await issue(app, ["encrypt-only"]))["key"]
    assert (await app.client.get(SHARES, headers={"X-API-Key": no_perm})).status_code == 403


async def test_client_encrypted_value_is_stored_as_given(app: App) -> None:
    blob = base64.urlsafe_b64encode(b"\x01iv-and-ciphertext").decode()
    made = await make_share(app, value=blob, clientEncrypted=True)
    assert made["share"]["clientEncrypted"] is True
    r = await redeem(app, made["token"])
    assert r.json() | {"expiresAt": None} == {
        "value": blob,
        "encoding": "utf-8",
        "clientEncrypted": True,
        "viewsLeft": 0,
        "expiresAt": None,
    }


@pytest.mark.parametrize(
    "body",
    [
        {"value": "v"},  # no expiry
        {"value": "v", "expiresInSeconds": 10},
        {"value": "v", "expiresInSeconds": 31 * 86400},
        {"value": "v", "expiresInSeconds": 3600, "views": 0},
        {"value": "v", "expiresInSeconds": 3600, "views": 101},
        {"expiresInSeconds": 3600},  # nothing to share
        {"value": "v", "expiresInSeconds": 3600, "source": {"path": "a/b", "version": 1}},
        {"value": "%%%", "encoding": "base64", "expiresInSeconds": 3600},
        {"value": "v", "expiresInSeconds": 3600, "passphrase": ""},
        {"value": "v", "expiresInSeconds": 3600, "principals": ["p"] * 21},
        {"value": "v", "expiresInSeconds": 3600, "tokn": "typo"},
    ],
)
async def test_bad_requests_are_refused(app: App, body: dict[str, Any]) -> None:
    r = await app.post(SHARES, body)
    assert r.status_code == 400 and r.json()["error"]["code"] == "ENC001", r.text
    assert (await app.get(SHARES)).json()["shares"] == []


async def test_too_large_value(app: App) -> None:
    r = await app.post(SHARES, {"value": "x" * 65537, "expiresInSeconds": 3600})
    assert r.status_code == 413 and r.json()["error"]["code"] == "REQ001"


async def test_redeem_is_audited_without_values(app: App) -> None:
    made = await make_share(app, value="audited-not-stored", passphrase="pp-canary-7")
    await redeem(app, made["token"], "nope")
    await redeem(app, made["token"], "pp-canary-7")
    rows = await _share_audit(app, made["share"]["id"])
    assert [(r.action, r.outcome) for r in rows] == [
        ("share.create", "success"),
        ("share.redeem", "failure"),
        ("share.redeem", "success"),
    ]
    assert rows[2].actor == "anonymous" and rows[2].tenant_id == "default"
    text = repr([(r.detail, r.target, r.actor) for r in rows])
    for canary in ("audited-not-stored", "pp-canary-7", made["token"]):
        assert canary not in text


async def _share_audit(app: App, share_id: str) -> list[AuditRecord]:
    await app.services.alerts.drain()
    async with app.services.db.read() as s:
        q = select(AuditRecord).where(AuditRecord.target == share_id).order_by(AuditRecord.id)
        return list((await s.execute(q)).scalars())


async def _passphrase_hash(app: App, share_id: str) -> str:
    from sqlalchemy import text

    async with app.services.db.read() as s:
        q = text("SELECT passphrase_hash FROM shares WHERE id = :i")
        return str((await s.execute(q, {"i": share_id})).scalar_one())
