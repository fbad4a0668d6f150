"""PostgreSQL row-level security (migration 0007): the service, connected as an
ordinary role, sees only the request tenant's rows even when a query forgets its
tenant filter; the same forgotten filter leaks through a superuser connection,
which is why the service must not use one."""

from __future__ import annotations

import asyncio
import contextvars
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from strongroom.api.app import create_app
from strongroom.context import Actor
from strongroom.kms.local import create_master_key_file
from strongroom.services.container import Services, build_services, scope_to_tenant
from strongroom.store import keys_repo
from strongroom.store.migrate import upgrade
from strongroom.store.models import KeyMaterial, UserKey, UserKeyVersion
from strongroom.store.tenancy import (
    ALL,
    NONE,
    current_tenant,
    enter_system_scope,
    system_scope,
)
from tests.api.conftest import make_settings

pytestmark = pytest.mark.postgres


@pytest.fixture
async def two_connections(
    postgres_server: Any, tmp_path: Path
) -> AsyncIterator[tuple[Services, Services]]:
    """Services as the app role (RLS applies) and as the superuser (RLS bypassed)."""
    owner_url = postgres_server.create_database()
    dbname = owner_url.rsplit("/", 1)[1]
    create_master_key_file(tmp_path / "strongroom.key")
    owner = build_services(make_settings(owner_url, tmp_path))
    await upgrade(owner.db, app_role="strongroom_app")  # `strongroom migrate --app-role`
    app = build_services(make_settings(postgres_server.app_role_url(dbname), tmp_path))
    enter_system_scope()  # set-up is system work; each test then picks its scope
    await owner.start()
    await app.start()
    for tenant, user in (("tenant-a", "alice"), ("tenant-b", "bob")):
        actor = Actor("test", tenant, f"r-{uuid.uuid4().hex[:6]}", None)
        await app.keys.create(actor, user, None, None)
    try:
        yield app, owner
    finally:
        enter_system_scope()
        await app.close()
        await owner.close()


async def test_forgotten_filter_sees_only_the_request_tenant(
    two_connections: tuple[Services, Services],
) -> None:
    app, _ = two_connections
    scope_to_tenant("tenant-a")
    async with app.db.read() as s:
        users = (await s.execute(select(UserKey.user_id))).scalars().all()
        versions = (await s.execute(select(func.count()).select_from(UserKeyVersion))).scalar()
        material = (await s.execute(select(func.count()).select_from(KeyMaterial))).scalar()
    assert users == ["alice"] and versions == 1 and material == 1
    # Writing a row of another tenant is refused by the policy's WITH CHECK.
    with pytest.raises(DBAPIError):
        async with app.db.transaction() as s:
            await s.execute(
                text("UPDATE user_keys SET tenant_id = 'tenant-b' WHERE user_id = 'alice'")
            )
    # Repository functions, called directly: one without a tenant filter of its own
    # (the change feed's) and one asked for the other tenant's user.
    async with app.db.read() as s:
        since = datetime.now(UTC) - timedelta(hours=1)
        assert [(t, u) for t, u, _ in await keys_repo.changed_since(s, since)] == [
            ("tenant-a", "alice")
        ]
        assert await keys_repo.get_key(s, "tenant-b", "bob") is None
        due = await keys_repo.due_for_rotation(s, datetime.now(UTC) + timedelta(days=400))
        assert [k.user_id for k in due] == ["alice"]  # bob is due too, in tenant-b
    scope_to_tenant(None)  # system work sees everything
    async with app.db.read() as s:
        assert len((await s.execute(select(UserKey.user_id))).scalars().all()) == 2


async def test_work_that_never_chose_a_scope_sees_nothing(
    two_connections: tuple[Services, Services],
) -> None:
    """The scope refuses by default: a task that set no tenant gets no tenant's rows
    (not every tenant's), through the ORM and through a service."""
    app, owner = two_connections
    ctx = contextvars.Context()  # a fresh task context: the scope was never chosen
    assert ctx.run(current_tenant) == NONE

    async def unscoped() -> tuple[int, int]:
        async with app.db.read() as s:
            rows = len((await s.execute(select(UserKey.user_id))).scalars().all())
        async with owner.db.read() as s:  # a superuser bypasses RLS: the same query leaks
            leaked = len((await s.execute(select(UserKey.user_id))).scalars().all())
        return rows, leaked

    assert await asyncio.get_running_loop().create_task(unscoped(), context=ctx) == (0, 2)
    with system_scope():  # the explicit path for system work
        async with app.db.read() as s:
            assert len((await s.execute(select(UserKey.user_id))).scalars().all()) == 2


async def forgetful_get_key(s: AsyncSession, tenant: str, user_id: str) -> UserKey | None:
    """A bug: the tenant filter is gone."""
    q = select(UserKey).where(UserKey.user_id == user_id)
    return (await s.execute(q)).scalar_one_or_none()


@pytest.mark.parametrize("connection", ["app_role", "superuser"])
async def test_api_with_a_forgotten_filter(
    two_connections: tuple[Services, Services],
    monkeypatch: pytest.MonkeyPatch,
    connection: str,
) -> None:
    app_svc, owner_svc = two_connections
    svc = app_svc if connection == "app_role" else owner_svc
    _, key_a = await svc.access.create("tenant-a", ["admin"], "tenant a admin")
    monkeypatch.setattr(keys_repo, "get_key", forgetful_get_key)
    application = create_app(svc.settings, svc)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=application), base_url="http://sr"
    ) as client:
        r = await client.get("/api/v1/keys/bob", headers={"X-API-Key": key_a})
    # The request's scope ended with it, though the in-process client ran it in this task.
    assert current_tenant() == ALL  # the fixture's system scope
    if connection == "app_role":
        assert r.status_code == 404, r.text  # RLS hides tenant-b's row
    else:
        # Without RLS (a superuser bypasses it) the same bug leaks tenant-b's key.
        assert r.status_code == 200 and r.json()["userId"] == "bob"


@pytest.mark.parametrize("setting", [None, "", "!none", "tenant-c", "*"])
async def test_a_connection_that_never_set_its_tenant_sees_nothing(
    two_connections: tuple[Services, Services], setting: str | None
) -> None:
    """A Core connection outside the ORM (nobody set the tenant for it): unset or empty
    means no rows, not every tenant's; only '*' is every tenant (migration 0009)."""
    app, _ = two_connections
    async with app.db.engine.begin() as conn:
        if setting is not None:
            await conn.execute(
                text("SELECT set_config('strongroom.tenant', :t, true)"), {"t": setting}
            )
        users = (await conn.execute(text("SELECT count(*) FROM user_keys"))).scalar()
        material = (await conn.execute(text("SELECT count(*) FROM key_material"))).scalar()
        # Writes follow the same rule: an unscoped UPDATE touches nothing.
        moved = await conn.execute(text("UPDATE user_keys SET tenant_id = tenant_id"))
    everyone = setting == "*"
    assert (users, material) == ((2, 2) if everyone else (0, 0))
    assert moved.rowcount == (2 if everyone else 0)


async def test_core_paths_work_as_the_app_role(
    two_connections: tuple[Services, Services],
) -> None:
    """The work outside ORM sessions, as the app role: usage flush (from a request of
    one tenant, for keys of two), purge after destruction, health check."""
    app, owner = two_connections
    a_id, _ = await app.access.create("tenant-a", ["admin"], "a")
    b_id, _ = await app.access.create("tenant-b", ["admin"], "b")
    usage = app.access.usage
    scope_to_tenant("tenant-a")  # the flush may run from any request's task
    usage.record(a_id, "192.0.2.1")
    usage.record(b_id, "192.0.2.2")
    assert await usage.flush() == 2
    async with owner.db.read() as s:
        got = await s.execute(
            text("SELECT last_used_addr FROM access_keys WHERE id IN (:a, :b)"),
            {"a": a_id, "b": b_id},
        )
        assert sorted(r[0] for r in got) == ["192.0.2.1", "192.0.2.2"]
    await app.db.purge_freed_pages()  # not the owner: VACUUM skips (a warning), no error
    assert await app.db.ping()
