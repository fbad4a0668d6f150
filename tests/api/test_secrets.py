"""The vault over HTTP (docs/secrets.md): KV v2 semantics on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from tests.api.access_helpers import audit_rows
from tests.api.conftest import App
from tests.api.secret_helpers import call, code, get, key_with_grants, put

P = "apps/billing/stripe"


async def test_every_write_is_a_version_and_any_version_reads(app: App) -> None:
    for n in range(1, 4):
        r = await put(app, P, {"apiKey": f"sk-{n}"})
        assert r.status_code == 200, r.text
        assert r.json()["metadata"]["version"] == n
    r = await get(app, P)
    assert r.json()["data"] == {"apiKey": "sk-3"}
    assert r.json()["metadata"]["labels"] == ["current"]
    assert (await get(app, P, version=1)).json()["data"] == {"apiKey": "sk-1"}
    assert code(await get(app, P, version=9)) == "SEC001"
    assert code(await get(app, "apps/nothing")) == "SEC001"
    meta = (await call(app, "GET", f"/metadata/{P}")).json()
    assert [v["version"] for v in meta["versions"]] == [1, 2, 3]
    assert meta["currentVersion"] == 3 and meta["previousVersion"] == 2


async def test_check_and_set(app: App) -> None:
    assert (await put(app, P, {"a": "1"}, options={"cas": 0})).status_code == 200
    r = await put(app, P, {"a": "2"}, options={"cas": 0})
    assert r.status_code == 409 and code(r) == "SEC003"
    assert (await put(app, P, {"a": "2"}, options={"cas": 1})).status_code == 200
    assert code(await put(app, P, {"a": "3"}, options={"cas": 1})) == "SEC003"
    assert (await get(app, P)).json()["data"] == {"a": "2"}


async def test_fifty_concurrent_writers_with_one_cas_one_wins(app: App) -> None:
    await put(app, P, {"v": "0"})
    rs = await asyncio.gather(*(put(app, P, {"v": str(i)}, options={"cas": 1}) for i in range(50)))
    statuses = sorted(r.status_code for r in rs)
    assert statuses == [200] + [409] * 49, statuses
    assert all(code(r) == "SEC003" for r in rs if r.status_code == 409)
    meta = (await call(app, "GET", f"/metadata/{P}")).json()
    assert meta["latestVersion"] == 2


async def test_fifty_concurrent_creators_with_cas_zero_one_wins(app: App) -> None:
    rs = await asyncio.gather(*(put(app, P, {"v": str(i)}, options={"cas": 0}) for i in range(50)))
    assert sorted(r.status_code for r in rs) == [200] + [409] * 49


async def test_merge_patch(app: App) -> None:
    await put(app, P, {"a": "1", "b": {"c": "2", "d": "3"}})
    r = await call(
        app, "PATCH", f"/data/{P}", json={"data": {"a": None, "b": {"d": "4"}, "e": "5"}}
    )
    assert r.status_code == 200, r.text
    assert (await get(app, P)).json()["data"] == {"b": {"c": "2", "d": "4"}, "e": "5"}
    r = await call(app, "PATCH", "/data/apps/none", json={"data": {"a": "1"}})
    assert code(r) == "SEC001"


async def test_soft_delete_undelete_and_destroy(app: App) -> None:
    await put(app, P, {"v": "CANARY-destroyed-value-1"})
    await put(app, P, {"v": "2"})
    r = await call(app, "DELETE", f"/data/{P}")
    assert r.json()["versions"] == [2]
    r = await get(app, P)
    assert r.status_code == 404 and code(r) == "SEC002"
    assert r.json()["error"]["details"]["state"] == "deleted"
    await call(app, "POST", f"/undelete/{P}", json={"versions": [2]})
    assert (await get(app, P)).json()["data"] == {"v": "2"}
    r = await call(app, "POST", f"/destroy/{P}", json={"versions": [1]})
    assert r.json()["versions"] == [1]
    assert code(await get(app, P, version=1)) == "SEC002"
    # undelete cannot bring a destroyed version back
    assert (await call(app, "POST", f"/undelete/{P}", json={"versions": [1]})).json()[
        "versions"
    ] == []
    async with app.services.db.read() as s:
        q = text(
            "SELECT count(*) FROM secret_values sv JOIN secret_versions v ON v.id = sv.version_id"
            " WHERE v.version = 1"
        )
        assert (await s.execute(q)).scalar_one() == 0
        total = (await s.execute(text("SELECT count(*) FROM secret_values"))).scalar_one()
        assert total == 1


async def test_delete_all_versions_and_metadata(app: App) -> None:
    await put(app, P, {"v": "1"})
    await put(app, P, {"v": "2"})
    r = await call(app, "DELETE", f"/metadata/{P}")
    assert r.status_code == 204
    assert code(await get(app, P)) == "SEC001"
    async with app.services.db.read() as s:
        for table in ("secrets", "secret_versions", "secret_values", "secret_meta"):
            n = (await s.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one()
            assert n == 0, table


async def test_max_versions_prunes_the_oldest(app: App) -> None:
    await put(app, P, {"v": "1"})
    r = await call(app, "PATCH", f"/metadata/{P}", json={"maxVersions": 3})
    assert r.status_code == 200, r.text
    for n in range(2, 7):
        await put(app, P, {"v": str(n)})
    meta = (await call(app, "GET", f"/metadata/{P}")).json()
    assert [v["version"] for v in meta["versions"]] == [4, 5, 6]
    assert meta["oldestVersion"] == 4
    assert code(await get(app, P, version=1)) == "SEC001"


async def test_default_max_versions_is_ten(app: App) -> None:
    for n in range(12):
        await put(app, P, {"v": str(n)})
    meta = (await call(app, "GET", f"/metadata/{P}")).json()
    assert meta["maxVersions"] == 10 and len(meta["versions"]) == 10


async def test_delete_version_after_and_custom_metadata(app: App) -> None:
    await put(app, P, {"v": "1"})
    body = {"deleteVersionAfter": 1, "customMetadata": {"owner": "billing", "env": "prod"}}
    r = await call(app, "PATCH", f"/metadata/{P}", json=body)
    assert r.json()["customMetadata"] == {"env": "prod", "owner": "billing"}
    await asyncio.sleep(1.1)
    r = await get(app, P)
    assert code(r) == "SEC002"
    r = await call(app, "PATCH", f"/metadata/{P}", json={"customMetadata": {"k" * 200: "v"}})
    assert r.status_code == 400


async def test_an_expired_version_reads_410_and_is_audited(app: App) -> None:
    past = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
    await put(app, P, {"v": "1"}, expiresAt=past)
    await asyncio.sleep(1.1)
    r = await get(app, P)
    assert r.status_code == 410 and code(r) == "SEC004", r.text
    rows = await audit_rows(app, "secret.read")
    assert [(x.outcome, (x.detail or {}).get("reason")) for x in rows] == [("failure", "expired")]
    meta = (await call(app, "GET", f"/metadata/{P}")).json()
    assert meta["versions"][0]["state"] == "expired"


async def test_staging_labels_and_promotion(app: App) -> None:
    await put(app, P, {"v": "1"})
    r = await put(app, P, {"v": "2"}, label="pending")
    assert r.json()["metadata"]["labels"] == ["pending"]
    # a crash here (never promoted) leaves current serving
    assert (await get(app, P)).json()["data"] == {"v": "1"}
    assert (await get(app, P, label="pending")).json()["data"] == {"v": "2"}
    for _ in range(2):  # a retried promotion (naming its version) is harmless
        r = await call(app, "POST", f"/promote/{P}", json={"version": 2})
        assert r.status_code == 200, r.text
        m = r.json()
        assert (m["currentVersion"], m["previousVersion"], m["pendingVersion"]) == (2, 1, 0)
    assert (await get(app, P)).json()["data"] == {"v": "2"}
    assert (await get(app, P, label="previous")).json()["data"] == {"v": "1"}
    r = await call(app, "POST", f"/promote/{P}", json={})  # nothing pending any more
    assert r.status_code == 409 and code(r) == "SEC007"
    promotes = await audit_rows(app, "secret.promote")
    assert [(p.detail or {}).get("unchanged") for p in promotes] == [None, True]


async def test_a_retried_write_with_its_token_is_idempotent(app: App) -> None:
    token = "rotation-7f3a9c"
    r1 = await put(app, P, {"v": "new"}, label="pending", requestToken=token)
    r2 = await put(app, P, {"v": "new"}, label="pending", requestToken=token)
    assert r1.json()["metadata"]["version"] == r2.json()["metadata"]["version"] == 1
    assert r2.json()["replayed"] is True
    meta = (await call(app, "GET", f"/metadata/{P}")).json()
    assert meta["latestVersion"] == 1


async def test_value_size_is_bounded(app: App) -> None:
    r = await put(app, P, {"v": "x" * 70_000})
    assert r.status_code == 413 and code(r) == "SEC005"
    assert code(await get(app, P)) == "SEC001"


async def test_bad_paths_are_refused(app: App) -> None:
    # (httpx itself resolves "..": tests/unit/secrets checks those segments)
    for bad in ("apps//x", "apps/x y", "apps/x*", "apps/+/x", "apps/x/", "a" * 600):
        r = await put(app, bad, {"v": "1"})
        assert r.status_code == 400 and code(r) == "ENC001", (bad, r.text)


async def test_path_grants_reach_only_their_subtree(app: App) -> None:
    await put(app, P, {"v": "billing"})
    await put(app, "apps/shop/stripe", {"v": "shop"})
    key = await key_with_grants(
        app,
        "billing-reader",
        [{"permission": "secrets:read", "resource": "apps/billing/*"}],
    )
    assert (await get(app, P, key=key)).json()["data"] == {"v": "billing"}
    r = await get(app, "apps/shop/stripe", key=key)
    assert r.status_code == 403
    assert (await put(app, P, {"v": "x"}, key=key)).status_code == 403
    denied = await audit_rows(app, "authz.denied")
    assert denied[-1].target == "apps/shop/stripe" or denied[-1].target is not None


async def test_no_one_grants_a_wider_path_than_it_holds(app: App) -> None:
    narrow = await key_with_grants(
        app,
        "billing-admin",
        [
            {"permission": "secrets:*", "resource": "apps/billing/*"},
            {"permission": "roles:write"},
        ],
    )
    wide = {"grants": [{"permission": "secrets:read", "resource": "apps/*"}]}
    r = await app.client.put("/api/v1/roles/wider", json=wide, headers={"X-API-Key": narrow})
    assert r.status_code == 403
    ok = {"grants": [{"permission": "secrets:read", "resource": "apps/billing/eu/*"}]}
    r = await app.client.put("/api/v1/roles/narrower", json=ok, headers={"X-API-Key": narrow})
    assert r.status_code == 201, r.text
    assert r.json()["grants"][0]["resource"] == "apps/billing/eu/*"


async def test_labelled_versions_survive_pruning(app: App) -> None:
    await put(app, P, {"v": "1"})
    await call(app, "PATCH", f"/metadata/{P}", json={"maxVersions": 2})
    await put(app, P, {"v": "staged"}, label="pending")  # version 2
    for n in range(3, 7):
        await put(app, P, {"v": str(n)})
    meta = (await call(app, "GET", f"/metadata/{P}")).json()
    assert meta["pendingVersion"] == 2
    assert (await get(app, P, label="pending")).json()["data"] == {"v": "staged"}
    assert [v["version"] for v in meta["versions"]] == [2, 3, 4, 5, 6]


async def test_a_write_racing_a_promotion_keeps_the_labels_consistent(app: App) -> None:
    await put(app, P, {"v": "1"})
    await put(app, P, {"v": "2"}, label="pending")
    promote = call(app, "POST", f"/promote/{P}", json={"version": 2})
    writes = [put(app, P, {"v": f"w{i}"}) for i in range(5)]
    rs = await asyncio.gather(promote, *writes)
    assert all(r.status_code == 200 for r in rs), [r.text for r in rs]
    m = (await call(app, "GET", f"/metadata/{P}")).json()
    # previous is always the version current replaced, whatever the interleaving
    assert m["currentVersion"] != m["previousVersion"]
    order = [v["version"] for v in m["versions"]]
    assert m["currentVersion"] in order and m["previousVersion"] in order
