"""The access guard without any transport: what the MCP server and the CLI get. The
same steps, records and refusals as over HTTP (tests/api/ covers those end to end)."""

from __future__ import annotations

import contextvars
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from tests.api.conftest import make_settings

from strongroom.access.guard import Presented, RequestContext, operator
from strongroom.access.permissions import Permission
from strongroom.errors import AuthenticationFailed, Forbidden, NotFound, RateLimited
from strongroom.kms.local import create_master_key_file
from strongroom.services.container import Services, build_services
from strongroom.store.models import AuditRecord
from strongroom.store.tenancy import ALL, NONE, current_tenant, isolated_scope


@pytest.fixture
async def svc(tmp_path: Path) -> AsyncIterator[Services]:
    settings = make_settings(
        f"sqlite+aiosqlite:///{tmp_path}/g.db", tmp_path, rate_limit_items_per_minute=10
    )
    create_master_key_file(settings.kms.master_key_file)
    services = build_services(settings)
    await services.start(migrate=True)
    try:
        yield services
    finally:
        await services.close()


async def records(svc: Services, request_id: str) -> list[tuple[str, str, Any]]:
    async with svc.db.read() as s:
        rows = await s.execute(select(AuditRecord).where(AuditRecord.request_id == request_id))
        return [(r.action, r.outcome, r.detail) for r in rows.scalars()]


async def test_a_key_authenticates_into_its_tenant_and_scope(svc: Services) -> None:
    _, key = await svc.access.create("acme", ["encrypt-only"], "svc")
    with isolated_scope():
        ctx = await svc.guard.authenticate(Presented("r1", "192.0.2.1", api_key=key))
        assert current_tenant() == "acme"  # row-level security follows the request
    assert isinstance(ctx, RequestContext)
    assert (ctx.actor.tenant, ctx.actor.request_id, ctx.actor.client_addr) == (
        "acme",
        "r1",
        "192.0.2.1",
    )
    assert ctx.quota is not None and ctx.quota.name == "req"
    await svc.guard.authorize(ctx, Permission.KEYS_ENCRYPT, "alice", items=3)
    with pytest.raises(Forbidden):
        await svc.guard.authorize(ctx, Permission.KEYS_DECRYPT, "alice", items=1)
    assert await records(svc, "r1") == [("authz.denied", "denied", {"permission": "keys:decrypt"})]


async def test_a_bad_key_fails_and_spends_the_address_budget(svc: Services) -> None:
    with pytest.raises(AuthenticationFailed):
        await svc.guard.authenticate(Presented("r2", "192.0.2.2", api_key="sr_live_nope"))
    assert [a for a, _, _ in await records(svc, "r2")] == ["auth.api_key"]


async def test_naming_another_tenant_answers_like_a_missing_object(svc: Services) -> None:
    _, key = await svc.access.create("acme", ["admin"], "svc")
    with isolated_scope(), pytest.raises(NotFound):
        await svc.guard.authenticate(Presented("r3", None, api_key=key, tenant="globex"))
    assert await records(svc, "r3") == [("authz.denied", "denied", {"permission": "tenant"})]


async def test_a_principal_spanning_tenants_names_one(svc: Services) -> None:
    _, key = await svc.access.create("default", ["super-admin"], "root")
    with isolated_scope():
        ctx = await svc.guard.authenticate(Presented("r4", None, api_key=key, tenant="globex"))
        assert current_tenant() == ALL
    assert ctx.actor.tenant == "globex"
    await svc.guard.authorize(ctx, Permission.KEYS_DECRYPT, "bob")


async def test_items_draw_on_the_item_budget(svc: Services) -> None:
    _, key = await svc.access.create("acme", ["admin"], "svc")
    with isolated_scope():
        ctx = await svc.guard.authenticate(Presented("r5", None, api_key=key))
    await svc.guard.authorize(ctx, Permission.KEYS_ENCRYPT, "u", items=10)
    with pytest.raises(RateLimited) as refused:
        await svc.guard.authorize(ctx, Permission.KEYS_ENCRYPT, "u", items=1)
    assert refused.value.detail["budget"] == "items"
    await svc.guard.authorize(ctx, Permission.KEYS_READ, "u")  # no items: no item budget drawn


async def test_rejections_are_recorded_once(svc: Services) -> None:
    _, key = await svc.access.create("acme", ["admin"], "svc")
    with isolated_scope():
        ctx = await svc.guard.authenticate(Presented("r6", None, api_key=key))
    await svc.guard.record_rejected(ctx.actor, "ENC001", "/api/v1/encrypt")
    await svc.guard.record_rejected(ctx.actor, "ENC001", "/api/v1/encrypt")
    assert await records(svc, "r6") == [
        ("api.rejected", "failure", {"code": "ENC001", "route": "/api/v1/encrypt"})
    ]


def test_the_operator_acts_as_the_system_in_system_scope() -> None:
    def run() -> tuple[str, RequestContext]:
        assert current_tenant() == NONE  # never chosen: refuses
        ctx = operator("acme")
        return current_tenant(), ctx

    scope, ctx = contextvars.Context().run(run)
    assert scope == ALL
    assert ctx.actor.principal == "system:cli" and ctx.actor.tenant == "acme"
    assert ctx.actor.request_id.startswith("cli-") and ctx.principal.spans_tenants
