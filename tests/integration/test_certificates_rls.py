"""Row-level security on the certificate tables (migration 0013): the service, as the
app role, sees and writes only the request tenant's certificates, SANs, sealed keys,
CAs and roles, even through a query with no tenant filter; a task that never chose a
scope sees none of them."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from strongroom.context import Actor
from strongroom.kms.local import create_master_key_file
from strongroom.pki.policy import RolePolicy
from strongroom.services.container import Services, build_services, scope_to_tenant
from strongroom.store import pki_repo
from strongroom.store.migrate import upgrade
from strongroom.store.models import (
    Certificate,
    CertificateAuthority,
    CertificateKey,
    CertificateRole,
    CertificateSan,
)
from strongroom.store.tenancy import NONE, enter_system_scope, set_tenant
from tests.api.certificate_helpers import EPOCH, key_pem, leaf, make_ca, pem
from tests.api.conftest import make_settings

pytestmark = pytest.mark.postgres
TABLES = (Certificate, CertificateSan, CertificateKey, CertificateAuthority, CertificateRole)


@pytest.fixture
async def app_role(postgres_server: Any, tmp_path: Path) -> AsyncIterator[Services]:
    owner_url = postgres_server.create_database()
    dbname = owner_url.rsplit("/", 1)[1]
    create_master_key_file(tmp_path / "strongroom.key")
    owner = build_services(make_settings(owner_url, tmp_path))
    await upgrade(owner.db, app_role="strongroom_app")
    await owner.close()
    svc = build_services(
        make_settings(postgres_server.app_role_url(dbname), tmp_path, pki_ca_enabled=True)
    )
    enter_system_scope()
    await svc.start()
    for tenant in ("tenant-a", "tenant-b"):
        scope_to_tenant(tenant)  # as a request of that tenant
        actor = Actor("test", tenant, f"r-{uuid.uuid4().hex[:6]}", None)
        ca = make_ca(f"{tenant} CA")
        cert, key = leaf(
            ca, f"{tenant}.example.com", [f"{tenant}.example.com"], EPOCH, EPOCH + timedelta(days=9)
        )
        await svc.certificates.import_bundle(
            actor, "pem", (pem(cert) + pem(ca.cert) + key_pem(key)).encode()
        )
        await svc.authorities.create(actor, "root", f"{tenant} Root", "ec-p256", 365, None)
        await svc.authorities.put_role(
            actor, "root", "web", RolePolicy(allowed_domains=("example.com",))
        )
    try:
        yield svc
    finally:
        enter_system_scope()
        await svc.close()


async def _counts(svc: Services) -> dict[str, set[str]]:
    out = {}
    async with svc.db.read() as s:
        for model in TABLES:
            out[model.__tablename__] = set((await s.execute(select(model.tenant_id))).scalars())
    return out


async def test_each_tenant_sees_only_its_own_rows(app_role: Services) -> None:
    scope_to_tenant("tenant-a")
    assert all(tenants == {"tenant-a"} for tenants in (await _counts(app_role)).values())
    # A query with no tenant filter at all (the monitor's) is narrowed too.
    async with app_role.db.read() as s:
        assert {c.tenant_id for c in await pki_repo.monitored(s)} == {"tenant-a"}
    # Writing another tenant's row is refused by the policy's WITH CHECK.
    with pytest.raises(DBAPIError):
        async with app_role.db.transaction() as s:
            await s.execute(text("UPDATE certificates SET tenant_id = 'tenant-b'"))
    enter_system_scope()
    assert all(len(tenants) == 2 for tenants in (await _counts(app_role)).values())


async def test_no_scope_sees_nothing(app_role: Services) -> None:
    set_tenant(NONE)
    async with app_role.db.read() as s:
        for model in TABLES:
            assert (await s.execute(select(func.count()).select_from(model))).scalar() == 0
