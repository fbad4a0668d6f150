"""Per-tenant data keys and sealed records (datakeys/), and once-only notices
(store/notices.py), on SQLite and PostgreSQL, with two replicas on one database."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from strongroom.datakeys import Purpose, SealedDataInvalid
from strongroom.services.container import Services
from strongroom.store.models import TenantDataKey
from strongroom.store.tenancy import enter_system_scope, set_tenant
from tests.integration.test_key_feed import replicas  # noqa: F401
from tests.integration.test_single_flight import CountingKms

PARTS = ["apps/billing/stripe", "3", "value"]


async def data_keys(services: Services) -> list[tuple[str, int]]:
    enter_system_scope()
    async with services.db.read() as s:
        q = select(TenantDataKey.tenant_id, TenantDataKey.version).order_by(TenantDataKey.id)
        return [(t, v) for t, v in (await s.execute(q)).all()]


async def test_a_record_opens_on_another_replica_and_nowhere_else(
    replicas: tuple[Services, Services],  # noqa: F811
) -> None:
    a, b = replicas
    set_tenant("acme")
    blob = await a.sealer.seal("acme", Purpose.SECRET, PARTS, b"canary-sealed-value")
    assert b"canary-sealed-value" not in blob
    assert await b.sealer.open("acme", Purpose.SECRET, PARTS, blob) == b"canary-sealed-value"
    moved = [
        ("acme", Purpose.SHARE, PARTS),  # another purpose
        ("acme", Purpose.SECRET, ["apps/billing/stripe", "4", "value"]),  # another version
        ("acme", Purpose.SECRET, ["apps/billing/other", "3", "value"]),  # another path
    ]
    for tenant, purpose, parts in moved:
        with pytest.raises(SealedDataInvalid):
            await b.sealer.open(tenant, purpose, parts, blob)
    set_tenant("other")  # another tenant: its own (here: no) data key
    with pytest.raises(SealedDataInvalid):
        await b.sealer.open("other", Purpose.SECRET, PARTS, blob)
    set_tenant("acme")
    tampered = blob[:-1] + bytes([blob[-1] ^ 1])
    with pytest.raises(SealedDataInvalid):
        await b.sealer.open("acme", Purpose.SECRET, PARTS, tampered)


async def test_concurrent_first_seals_make_one_data_key_per_tenant(
    replicas: tuple[Services, Services],  # noqa: F811
) -> None:
    a, b = replicas
    set_tenant("acme")
    counting = CountingKms(a.kms)
    a.sealer._kms = counting  # type: ignore[assignment]
    blobs = await asyncio.gather(
        *(s.sealer.seal("acme", Purpose.SECRET, PARTS, b"v") for s in (a, b) for _ in range(50))
    )
    assert await data_keys(a) == [("acme", 1)]
    set_tenant("acme")
    # a loaded its key once for 50 seals (b may have won the insert: then a unwraps it).
    assert counting.unwraps <= 1
    opened = await asyncio.gather(*(a.sealer.open("acme", Purpose.SECRET, PARTS, x) for x in blobs))
    assert set(opened) == {b"v"}


async def test_rotation_seals_new_records_under_the_new_version_and_old_ones_still_open(
    replicas: tuple[Services, Services],  # noqa: F811
) -> None:
    a, b = replicas
    set_tenant("acme")
    old = await a.sealer.seal("acme", Purpose.PKI_KEY, ["cert-1"], b"old")
    assert await a.sealer.rotate("acme") == 2
    new = await a.sealer.seal("acme", Purpose.PKI_KEY, ["cert-1"], b"new")
    assert (old[1:5], new[1:5]) == (b"\x00\x00\x00\x01", b"\x00\x00\x00\x02")
    b.sealer.forget()
    assert await b.sealer.open("acme", Purpose.PKI_KEY, ["cert-1"], old) == b"old"
    assert await b.sealer.open("acme", Purpose.PKI_KEY, ["cert-1"], new) == b"new"
    assert await data_keys(a) == [("acme", 1), ("acme", 2)]


async def test_a_notice_is_claimed_once_across_replicas(
    replicas: tuple[Services, Services],  # noqa: F811
) -> None:
    a, b = replicas
    set_tenant("acme")
    claims = await asyncio.gather(
        *(s.notices.claim("acme", "secret.expiry", "apps/x@3", "7d") for s in (a, b) * 25)
    )
    assert claims.count(True) == 1
    assert await a.notices.claim("acme", "secret.expiry", "apps/x@3", "1d")  # another threshold
    assert await b.notices.sent("acme", "secret.expiry", "apps/x@3") == ["1d", "7d"]
