"""``strongroom kms rewrap``: moving every wrapped key local -> SoftHSM2 (through the
real CLI), and onto a rotated OpenBao transit key; clients' ciphertexts never change
and stay decryptable before, during and after.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

from strongroom.api.app import create_app
from strongroom.context import Actor
from strongroom.datakeys import Purpose
from strongroom.kms.local import create_master_key_file
from strongroom.services.container import Services, build_services
from strongroom.services.kms_rewrap import KmsRewrap
from strongroom.store import wrapped_repo
from strongroom.store.tenancy import enter_system_scope
from tests.api.conftest import (  # noqa: F401
    App,
    as_owner,
    backend,
    database_url,
    make_settings,
)
from tests.integration.test_cli import run_cli
from tests.kms_services import SoftHsmToken, TransitKey, bao_request

USERS = {"u-x25519": "x25519-hpke", "u-aes": "aes256-gcm", "u-pq": "mlkem768-x25519-hpke"}
ACTOR = Actor("test", "default", "req-test", None)


@asynccontextmanager
async def running(settings: Any, admin_key: str | None = None) -> AsyncIterator[App]:
    services = build_services(settings)
    enter_system_scope()  # the test's own calls are system work
    await services.start(migrate=True)
    if admin_key is None:
        _, admin_key = await services.access.create("default", ["admin"], "test admin")
    transport = httpx.ASGITransport(app=create_app(settings, services))
    async with httpx.AsyncClient(transport=transport, base_url="http://sr") as client:
        yield App(client, services, settings, admin_key, None)
    await services.close()


async def seed(app: App) -> dict[str, list[str]]:
    cts = {}
    for user, key_type in USERS.items():
        await app.create_key(user, key_type)
        cts[user] = await app.encrypt(user, [f"{user}-secret-1", f"{user}-secret-2"])
    r = await app.post("/api/v1/rotate", {"userId": "u-x25519", "data": cts["u-x25519"]})
    assert r.status_code == 200, r.text
    cts["u-x25519-v1"] = cts["u-x25519"]
    cts["u-x25519"] = r.json()["rotatedData"]
    return cts


async def check_all(app: App, cts: dict[str, list[str]]) -> None:
    for name, values in cts.items():
        user = name.removesuffix("-v1")
        assert await app.decrypt(user, values) == [f"{user}-secret-1", f"{user}-secret-2"]


async def key_refs(services: Services) -> dict[str, int]:
    async with services.db.read() as s:
        return await wrapped_repo.count_by_key_ref(s)


async def test_local_to_softhsm_with_the_cli(
    database_url: str,  # noqa: F811
    tmp_path: Path,
    softhsm_token: SoftHsmToken,
) -> None:
    local = make_settings(database_url, tmp_path)
    create_master_key_file(local.kms.master_key_file)
    async with running(local) as app:
        cts = await seed(app)
        admin_key = app.admin_key
    label = f"root-{os.urandom(4).hex()}"
    hsm_env = {
        # The documented way: as the schema owner (the serving role may not re-wrap
        # audit segment keys or service keys).
        "STRONGROOM_DATABASE_URL": as_owner(database_url),
        "STRONGROOM_KMS": "pkcs11",
        "STRONGROOM_KMS_PREVIOUS": '["local"]',
        "STRONGROOM_KMS_PKCS11_LIBRARY": softhsm_token.library,
        "STRONGROOM_KMS_PKCS11_TOKEN_LABEL": softhsm_token.label,
        "STRONGROOM_KMS_PKCS11_PIN": softhsm_token.pin,
        "STRONGROOM_KMS_PKCS11_KEY_LABEL": label,
        "STRONGROOM_KMS_PKCS11_CREATE_KEY": "true",
    }
    hsm_ref = f"pkcs11:{softhsm_token.label}/{label}"

    # Half-way state: the reader (pkcs11 + previous local) opens everything.
    hsm_and_local = make_settings(
        database_url,
        tmp_path,
        kms="pkcs11",
        kms_previous=["local"],
        kms_pkcs11_library=softhsm_token.library,
        kms_pkcs11_token_label=softhsm_token.label,
        kms_pkcs11_pin=softhsm_token.pin,
        kms_pkcs11_key_label=label,
        kms_pkcs11_create_key=True,
    )
    async with running(hsm_and_local, admin_key) as app:
        await check_all(app, cts)
        await app.create_key("u-new")  # new keys are wrapped by the HSM at once
        cts["u-new"] = await app.encrypt("u-new", ["u-new-secret-1", "u-new-secret-2"])

    done = run_cli(tmp_path, "kms", "rewrap", "--batch-size", "2", **hsm_env)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    # 4 user key versions (one rotated), 3 service keys (access-key pepper, checkpoint
    # signing key, audit lookup HMAC key) and the first run's audit segment; u-new and
    # the later segments were under the HSM already.
    assert report["moved"] == 8 and report["refused"] == []
    # Progress on stderr (not a terminal here: plain lines), the report alone on stdout.
    assert "kms rewrap: 0/8 wrapped keys (0%)" in done.stderr.splitlines()
    assert "kms rewrap: 8/8 wrapped keys (100%); done in " in done.stderr
    assert set(report["byKeyRef"]) == {hsm_ref}
    again = json.loads(run_cli(tmp_path, "kms", "rewrap", **hsm_env).stdout)
    assert again["moved"] == 0  # resumable: nothing left to move

    # The local master key is gone: only the HSM can open anything now.
    local.kms.master_key_file.unlink()
    hsm_only = hsm_and_local.model_copy(
        update={"kms": hsm_and_local.kms.model_copy(update={"previous": []})}
    )
    async with running(hsm_only, admin_key) as app:
        assert set(await key_refs(app.services)) == {hsm_ref}
        await check_all(app, cts)  # admin_key authenticated: the pepper moved too
        # Audit segment keys and the checkpoint signing key moved too: the whole
        # trail, written under the local key, still verifies.
        verified = await app.get("/api/v1/audit/verify")
        assert verified.status_code == 200, verified.text
        # Nothing wrong (the live segment's end is unproven without anchors).
        assert verified.json()["status"] == "unconfirmed", verified.text
        assert verified.json()["findings"] == [], verified.text


async def test_rotated_openbao_key_then_old_version_retired(
    tmp_path: Path, openbao_transit: TransitKey
) -> None:
    settings = make_settings(
        f"sqlite+aiosqlite:///{tmp_path / 'sr.db'}",
        tmp_path,
        kms="openbao",
        kms_openbao_addr=openbao_transit.addr,
        kms_openbao_token=openbao_transit.token,
        kms_openbao_key=openbao_transit.key,
    )
    base = f"/v1/transit/keys/{openbao_transit.key}"
    async with running(settings) as app:
        cts = await seed(app)
        sealer = app.services.sealer
        sealed = await sealer.seal("acme", Purpose.SECRET, ["apps/x", "1"], b"sealed value")
        before = await key_refs(app.services)
        assert set(before) == {f"openbao:transit/{openbao_transit.key}:v1"}
        bao_request(openbao_transit.addr, openbao_transit.token, "POST", f"{base}/rotate")
        report = await KmsRewrap(app.services.db, app.services.kms, app.services.audit).run(ACTOR)
        assert report.complete and report.moved == sum(before.values())
        assert report.remaining == {f"openbao:transit/{openbao_transit.key}:v2": report.moved}
        admin_key = app.admin_key
    # Version 1 can no longer decrypt anything: every row must be on version 2.
    bao_request(
        openbao_transit.addr,
        openbao_transit.token,
        "POST",
        f"{base}/config",
        {"min_decryption_version": 2},
    )
    async with running(settings, admin_key) as app:  # fresh process: empty caches
        await check_all(app, cts)
        # The tenant data key moved too: its sealed records still open.
        opened = await app.services.sealer.open("acme", Purpose.SECRET, ["apps/x", "1"], sealed)
        assert opened == b"sealed value"
