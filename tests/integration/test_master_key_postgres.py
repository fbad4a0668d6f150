"""The master key check on PostgreSQL, as the serving role (row-level security on):
it counts every tenant's wrapped rows and refuses a missing or different key."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from strongroom.context import Actor
from strongroom.kms.local import MasterKeyFileError, create_master_key_file
from strongroom.services.container import build_services
from strongroom.services.root_key import prepare_root_key, wrapped_key_refs
from strongroom.store.migrate import upgrade
from strongroom.store.tenancy import enter_system_scope
from tests.api.conftest import make_settings

pytestmark = pytest.mark.postgres


async def test_the_serving_role_is_refused_a_wrong_or_missing_key(
    postgres_server: Any, tmp_path: Path
) -> None:
    owner_url = postgres_server.create_database()
    dbname = owner_url.rsplit("/", 1)[1]
    create_master_key_file(tmp_path / "strongroom.key")
    owner = build_services(make_settings(owner_url, tmp_path))
    await upgrade(owner.db, app_role="strongroom_app")  # `strongroom migrate --app-role`
    app_url = postgres_server.app_role_url(dbname)
    enter_system_scope()
    await owner.start()
    for tenant in ("tenant-a", "tenant-b"):
        actor = Actor("test", tenant, f"r-{uuid.uuid4().hex[:6]}", None)
        await owner.keys.create(actor, "u", None, None)
    needed = owner.kms.key_ref
    expected = await wrapped_key_refs(owner.db)
    await owner.close()

    settings = make_settings(app_url, tmp_path)
    assert not await prepare_root_key(settings, create=True)  # the right key: nothing to do

    other = tmp_path / "other"
    other.mkdir()
    create_master_key_file(other / "strongroom.key")
    wrong = make_settings(app_url, other)
    with pytest.raises(MasterKeyFileError) as refused:
        await prepare_root_key(wrong, create=True)
    # Every tenant's rows are counted, though the serving role is under RLS.
    assert f"{needed} ({expected[needed]} rows)" in str(refused.value)
    assert "local:" in str(refused.value).split("holds key ")[1].split(",")[0]

    missing = make_settings(app_url, tmp_path / "absent")
    with pytest.raises(MasterKeyFileError, match="not found"):
        await prepare_root_key(missing, create=True)
    assert not (tmp_path / "absent").exists()
