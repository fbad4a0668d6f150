"""Projects and stored API keys over HTTP (docs/credentials.md), SQLite and PostgreSQL:
the value is write-only, changes compare-and-set, bad input is a stable 4xx with
nothing changed, lists show only what the caller may read, and revealing needs a grant
that names api-keys:reveal."""

from __future__ import annotations

import asyncio
from typing import Any

from strongroom.context import Actor
from tests.api.access_helpers import audit_rows, issue
from tests.api.api_key_helpers import PROJECTS, code, keys_url, project, req, stored
from tests.api.conftest import App
from tests.api.secret_helpers import key_with_grants

VALUE = "sk-live-CANARY-4411aa"


async def test_create_read_list_never_show_the_value(app: App) -> None:
    await project(app, "billing")
    made = await stored(
        app,
        "billing",
        "stripe",
        VALUE,
        provider="stripe",
        hosts=["api.stripe.com", "*.stripe.net"],
        injection={"kind": "header", "name": "x-api-key", "template": "{key}"},
        tags={"env": "prod"},
        owners=["alice"],
        sensitivity="high",
    )
    assert made["version"] == 1 and made["state"] == "active" and made["sensitivity"] == "high"
    assert made["hosts"] == ["api.stripe.com", "*.stripe.net"]
    texts = [str(made)]
    for url in (
        keys_url("billing", "stripe"),
        keys_url("billing"),
        PROJECTS,
        f"{PROJECTS}/billing",
    ):
        r = await req(app, "GET", url)
        assert r.status_code == 200, r.text
        texts.append(r.text)
    assert not any(VALUE in t for t in texts)
    assert (await req(app, "GET", f"{PROJECTS}/billing")).json()["keys"] == 1
    assert [a.action for a in await audit_rows(app, "api_key.")] == ["api_key.create"]


async def test_bad_input_is_a_stable_code_and_changes_nothing(app: App) -> None:
    await project(app, "p")
    cases: dict[str, dict[str, Any]] = {
        "APK004": {"hosts": ["*.com"]},
        "APK005": {"injection": {"kind": "header", "name": "Authorization", "template": "x"}},
        "APK006": {"allowedNetworks": ["10.0.0.1/8"]},
        "APK013": {"value": "has space"},
        "APK011": {"rotationHook": "nope"},
    }
    for want, extra in cases.items():
        body = {"name": "k", "value": VALUE, **extra}
        r = await req(app, "POST", keys_url("p"), json=body)
        assert r.status_code in (400, 422) and code(r) == want, (want, r.text)
        assert VALUE not in r.text
    assert (await req(app, "GET", keys_url("p"))).json()["keys"] == []
    r = await req(app, "POST", keys_url("nothing"), json={"name": "k", "value": VALUE})
    assert r.status_code == 404 and code(r) == "APK001"
    await stored(app, "p", "k", VALUE)
    r = await req(app, "POST", keys_url("p"), json={"name": "k", "value": VALUE})
    assert r.status_code == 409 and code(r) == "APK002"
    r = await req(app, "POST", PROJECTS, json={"name": "p"})
    assert r.status_code == 409 and code(r) == "APK002"
    assert code(await req(app, "GET", keys_url("p", "missing"))) == "APK001"
    r = await req(app, "DELETE", f"{PROJECTS}/p")
    assert r.status_code == 409 and code(r) == "APK012"
    assert (await req(app, "DELETE", keys_url("p", "k"))).status_code == 204
    assert (await req(app, "DELETE", f"{PROJECTS}/p")).status_code == 204
    assert (await req(app, "GET", f"{PROJECTS}/p")).status_code == 404


async def test_patch_compare_and_set(app: App) -> None:
    await project(app, "p")
    await stored(app, "p", "k", VALUE)
    url = keys_url("p", "k")
    r = await req(app, "PATCH", url, json={"version": 1, "hosts": ["api.example.com"]})
    assert r.status_code == 200 and r.json()["version"] == 2, r.text
    r = await req(app, "PATCH", url, json={"version": 1, "tags": {"a": "b"}})
    assert r.status_code == 409 and code(r) == "APK003"
    assert (await req(app, "GET", url)).json()["tags"] == {}
    # Ten concurrent writers naming the same version: exactly one wins.
    rs = await asyncio.gather(
        *(req(app, "PATCH", url, json={"version": 2, "tags": {"n": str(i)}}) for i in range(10))
    )
    assert sorted(r.status_code for r in rs) == [200] + [409] * 9
    assert (await req(app, "GET", url)).json()["version"] == 3
    r = await req(app, "PATCH", url, json={"hosts": ["bad host"]})
    assert code(r) == "APK004" and (await req(app, "GET", url)).json()["version"] == 3


async def test_reveal_needs_an_explicit_grant(app: App) -> None:
    await project(app, "p")
    await stored(app, "p", "k", VALUE)
    r = await req(app, "POST", keys_url("p", "k") + "/reveal")
    assert r.status_code == 403 and VALUE not in r.text  # "*" is not enough
    wide = await key_with_grants(app, "keys-all", [{"permission": "api-keys:*"}])
    assert (await req(app, "POST", keys_url("p", "k") + "/reveal", wide)).status_code == 403
    revealer = await key_with_grants(
        app, "revealer", [{"permission": "api-keys:reveal", "resource": "p/*"}]
    )
    r = await req(app, "POST", keys_url("p", "k") + "/reveal", revealer)
    assert r.status_code == 200 and r.json()["value"] == VALUE, r.text
    reveals = await audit_rows(app, "api_key.reveal")
    assert [x.outcome for x in reveals] == ["success"]


async def test_list_shows_only_what_the_caller_may_read_and_pages(app: App) -> None:
    for p in ("billing", "ops"):
        await project(app, p)
        for i in range(3):
            await stored(app, p, f"k{i}", VALUE)
    reader = await key_with_grants(
        app,
        "billing-reader",
        [{"permission": "api-keys:read", "resource": "billing/*"}],
    )
    r = await req(app, "GET", keys_url("billing"), reader)
    assert [k["name"] for k in r.json()["keys"]] == ["k0", "k1", "k2"]
    assert (await req(app, "GET", keys_url("ops"), reader)).json()["keys"] == []
    assert (await req(app, "GET", keys_url("ops", "k0"), reader)).status_code == 403
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await req(app, "GET", keys_url("ops"), params=params)).json()
        seen += [k["name"] for k in page["keys"]]
        cursor = page["cursor"]
        if cursor is None:
            break
    assert seen == ["k0", "k1", "k2"]


async def test_revoke_block_unblock(app: App) -> None:
    await project(app, "p")
    await stored(app, "p", "k", VALUE)
    url = keys_url("p", "k")
    r = await req(app, "POST", url + "/block", json={"reason": "odd traffic"})
    assert r.json()["state"] == "blocked" and r.json()["stateReason"] == "odd traffic"
    assert (await req(app, "POST", url + "/unblock")).json()["state"] == "active"
    r = await req(app, "POST", url + "/revoke")
    assert r.status_code == 200 and r.json()["state"] == "revoked"
    for step in ("/unblock", "/block", "/revoke", "/rotate"):
        body = {"value": "sk-new-value"} if step == "/rotate" else None
        r = await req(app, "POST", url + step, json=body)
        assert r.status_code == 409 and code(r) == "APK007", (step, r.text)
    actions = [a.action for a in await audit_rows(app, "api_key.")]
    assert actions == ["api_key.create", "api_key.block", "api_key.unblock", "api_key.revoke"]


async def test_the_directory_lists_what_an_access_key_may_use(app: App) -> None:
    for p in ("billing", "ops"):
        await project(app, p)
        await stored(app, p, "k", VALUE)
    r = await app.client.put(
        "/api/v1/roles/ops-user",
        json={"grants": [{"permission": "api-keys:use", "resource": "ops/*"}]},
        headers=app.headers,
    )
    assert r.status_code in (200, 201), r.text
    made = await issue(app, ["ops-user"])
    usable = await app.services.key_directory.usable(Actor(made["id"], "default", "r", None))
    assert [(k.project, k.name) for k in usable] == [("ops", "k")]
    r = await req(app, "GET", keys_url("ops", "k") + "/usable", made["key"])
    assert r.status_code == 200 and r.json()["hosts"] == []
    assert (
        await req(app, "GET", keys_url("billing", "k") + "/usable", made["key"])
    ).status_code == 403
    nobody = await app.services.key_directory.usable(Actor("oidc:x#y", "default", "r", None))
    assert nobody == []  # not an access key: only the edge's own reach can say
