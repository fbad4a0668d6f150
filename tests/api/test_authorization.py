"""Every built-in role over every key endpoint (an explicit table, not derived from
the code under test), tenant isolation, and the ``own`` scope of the user role."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.api.conftest import App

# endpoint name -> (method, path, body); "{u}" is a userId that does not exist, so
# an allowed call answers 404 KEY001 (or 201 for create) and a denied one 403.
ENDPOINTS: dict[str, tuple[str, str, dict[str, Any] | None]] = {
    "create": ("POST", "/api/v1/keys", {"userId": "{u}"}),
    "metadata": ("GET", "/api/v1/keys/{u}", None),
    "public": ("GET", "/api/v1/keys/{u}/public", None),
    "history": ("GET", "/api/v1/keys/{u}/history", None),
    "policy": ("PATCH", "/api/v1/keys/{u}/policy", {"rotationPeriodDays": 30}),
    "delete": ("POST", "/api/v1/keys/{u}/deletion", {}),
    "cancel": ("DELETE", "/api/v1/keys/{u}/deletion", None),
    "encrypt": ("POST", "/api/v1/encrypt", {"userId": "{u}", "data": ["x"]}),
    "decrypt": ("POST", "/api/v1/decrypt", {"userId": "{u}", "data": []}),
    "rotate": ("POST", "/api/v1/rotate", {"userId": "{u}", "data": []}),
    "rewrap": ("POST", "/api/v1/rewrap", {"userId": "{u}", "data": []}),
    "security-events": ("GET", "/api/v1/security-events", None),
    "metrics": ("GET", "/metrics", None),
}
ALL = set(ENDPOINTS)
KEY_ENDPOINTS = ALL - {"security-events", "metrics"}

ALLOWED: dict[str, set[str]] = {
    "super-admin": ALL,
    "client-admin": ALL,
    "admin": ALL,
    "company-admin": KEY_ENDPOINTS | {"security-events"},
    "integration-admin": {"create", "metadata", "public", "history", "encrypt"},
    "key-admin": KEY_ENDPOINTS,
    "encrypt-only": {"encrypt", "public"},
    "decrypt-only": {"decrypt"},
    "auditor": {"metadata", "history", "security-events", "metrics"},
    "user": set(),  # only its own key (see below); "{u}" is never its own
}


async def call(app: App, key: str, name: str, user: str, **headers: str) -> httpx.Response:
    method, path, body = ENDPOINTS[name]
    path = path.replace("{u}", user)
    if body is not None:
        body = {k: (v.replace("{u}", user) if isinstance(v, str) else v) for k, v in body.items()}
    h = {"X-API-Key": key, **headers}
    return await app.client.request(method, path, json=body, headers=h)


@pytest.mark.parametrize("backend", ["sqlite"])
@pytest.mark.parametrize("role", sorted(ALLOWED))
async def test_role_table(app: App, role: str) -> None:
    _, key = await app.services.access.create("default", [role], f"table {role}")
    outcome = {}
    for name in sorted(ENDPOINTS):
        r = await call(app, key, name, f"nobody-{uuid.uuid4().hex[:8]}")
        assert r.status_code != 401, (role, name, r.text)
        outcome[name] = r.status_code != 403
        if r.status_code == 403:
            assert r.json()["error"]["code"] == "AUTH002"
    assert {n for n, ok in outcome.items() if ok} == ALLOWED[role]


async def test_user_role_reaches_only_its_own_key(app: App) -> None:
    key_id, key = await app.services.access.create("default", ["user"], "end user")
    await app.create_key(key_id)  # the user's own key: userId == its subject
    await app.create_key("someone-else")
    own = await call(app, key, "encrypt", key_id)
    assert own.status_code == 200
    texts = own.json()["encryptedData"]
    r = await app.client.post(
        "/api/v1/decrypt", json={"userId": key_id, "data": texts}, headers={"X-API-Key": key}
    )
    assert r.json()["decryptedData"] == ["x"]
    for name in ("encrypt", "metadata", "decrypt"):
        assert (await call(app, key, name, "someone-else")).status_code == 403
    assert (await call(app, key, "rotate", key_id)).status_code == 403  # not granted at all


async def test_a_miss_and_another_tenants_key_look_the_same(app: App) -> None:
    _, root = await app.services.access.create("default", ["super-admin"], "operator")
    made = await app.client.post(
        "/api/v1/keys",
        json={"userId": "shared-name"},
        headers={"X-API-Key": root, "X-Tenant-Id": "b"},
    )
    assert made.status_code == 201
    _, tenant_a = await app.services.access.create("a", ["client-admin"], "tenant a admin")
    other = await call(app, tenant_a, "metadata", "shared-name")
    missing = await call(app, tenant_a, "metadata", "never-created")
    assert other.status_code == missing.status_code == 404

    def strip(r: httpx.Response) -> dict[str, object]:
        return {**r.json(), "requestId": None}

    assert strip(other) == strip(missing)
    enc = await call(app, tenant_a, "encrypt", "shared-name")
    assert enc.status_code == 404 and enc.json()["error"]["code"] == "KEY001"
    # Naming the other tenant does not help a principal bound to its own.
    named = await call(app, tenant_a, "metadata", "shared-name", **{"X-Tenant-Id": "b"})
    assert named.status_code == 404
    # The operator reaches it by naming the tenant; without the header it acts in "default".
    assert (
        await call(app, root, "metadata", "shared-name", **{"X-Tenant-Id": "b"})
    ).status_code == 200
    assert (await call(app, root, "metadata", "shared-name")).status_code == 404


async def test_bootstrap_admin_needs_no_tenant_header(app: App) -> None:
    await app.create_key("plain")  # app.admin_key: role admin in "default", no header
    assert await app.decrypt("plain", await app.encrypt("plain", ["v"])) == ["v"]
