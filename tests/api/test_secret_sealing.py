"""The vault's values at rest: sealed and bound to their record, gone after destroy,
and out of another tenant's reach."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from strongroom.secrets.errors import SecretNotFound, SecretVersionGone
from tests.api.conftest import App
from tests.api.secret_helpers import call, code, get, put
from tests.api.test_audit_and_leaks import rename_audit_table

P = "apps/billing/stripe"


async def _sealed(app: App, version: int) -> bytes:
    async with app.services.db.read() as s:
        q = text(
            "SELECT sv.sealed FROM secret_values sv JOIN secret_versions v"
            " ON v.id = sv.version_id WHERE v.version = :v"
        )
        return bytes((await s.execute(q, {"v": version})).scalar_one())


async def test_a_sealed_value_moved_to_another_version_fails_opaquely(app: App) -> None:
    await put(app, P, {"v": "one"})
    await put(app, P, {"v": "two"})
    one = await _sealed(app, 1)
    async with app.services.db.transaction() as s:  # an attacker with the database
        await s.execute(
            text(
                "UPDATE secret_values SET sealed = :b WHERE version_id ="
                " (SELECT id FROM secret_versions WHERE version = 2)"
            ),
            {"b": one},
        )
    r = await get(app, P)
    assert r.status_code == 500 and code(r) == "SYS003", r.text
    assert "one" not in r.text
    assert (await get(app, P, version=1)).json()["data"] == {"v": "one"}


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_destroyed_ciphertext_leaves_the_database_file(app: App) -> None:
    await put(app, P, {"v": "x" * 300})
    await put(app, P, {"v": "y"})
    sealed = await _sealed(app, 1)
    assert app.db_path is not None

    def file_bytes() -> bytes:
        assert app.db_path is not None
        wal = app.db_path.with_name(app.db_path.name + "-wal")
        return app.db_path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")

    assert sealed[-64:] in file_bytes()  # the test can see it while it is there
    r = await call(app, "POST", f"/destroy/{P}", json={"versions": [1]})
    assert r.json()["versions"] == [1]
    assert sealed[-64:] not in file_bytes()
    assert sealed[:32] not in file_bytes()


async def test_another_tenant_sees_nothing(app: App) -> None:
    await put(app, P, {"v": "a"})
    _, other = await app.services.access.create("tenant-b", ["admin"], "other tenant")
    r = await get(app, P, key=other)
    assert r.status_code == 404 and code(r) == "SEC001"
    assert (await call(app, "GET", "", key=other)).json()["keys"] == []
    assert (await put(app, P, {"v": "b"}, key=other)).json()["metadata"]["version"] == 1
    assert (await get(app, P)).json()["data"] == {"v": "a"}  # tenants apart
    # naming the other tenant does not help a principal bound to its own
    r = await app.client.get(
        f"/api/v1/secrets/data/{P}", headers={"X-API-Key": other, "X-Tenant-Id": "default"}
    )
    assert r.status_code == 404


async def test_without_an_audit_trail_no_value_leaves_and_nothing_changes(app: App) -> None:
    await put(app, P, {"v": "CANARY-kept-7"})
    await rename_audit_table(app, "audit_records", "audit_records_gone")
    try:
        r = await get(app, P)
        assert r.status_code == 503 and code(r) == "SYS001", r.text
        assert "CANARY-kept-7" not in r.text
        r = await put(app, P, {"v": "new"})
        assert r.status_code == 503
        assert (await call(app, "GET", "")).status_code == 503
    finally:
        await rename_audit_table(app, "audit_records_gone", "audit_records")
    r = await get(app, P)
    assert r.json()["data"] == {"v": "CANARY-kept-7"} and r.json()["metadata"]["version"] == 1


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_gone_hooks_hear_destroyed_versions_and_deleted_secrets(app: App) -> None:
    """What shares of a version rely on (``Vault.core.on_gone``)."""
    heard: list[tuple[str, str, int | None]] = []

    async def hook(actor: object, tenant: str, path: str, version: int | None) -> int:
        heard.append((tenant, path, version))
        return 0

    app.services.vault.core.on_gone.append(hook)
    await put(app, P, {"v": "1"})
    await put(app, P, {"v": "2"})
    await call(app, "POST", f"/destroy/{P}", json={"versions": [1, 9]})
    await call(app, "DELETE", f"/metadata/{P}")
    assert heard == [("default", P, 1), ("default", P, None)]


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_read_for_share_gives_the_stored_value_of_a_live_version(app: App) -> None:
    await put(app, P, {"b": "2", "a": "1"})
    assert await app.services.secrets.read_for_share("default", P, 1) == b'{"a":"1","b":"2"}'
    await call(app, "POST", f"/delete/{P}", json={"versions": [1]})
    with pytest.raises(SecretVersionGone):
        await app.services.secrets.read_for_share("default", P, 1)
    with pytest.raises(SecretNotFound):
        await app.services.secrets.read_for_share("default", "apps/none", 1)
