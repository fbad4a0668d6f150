"""Projects and stored API keys through the client, sync and async, against a real
service: create (value write-only), list, compare-and-set update, rotate idempotently
with a request token, block/unblock/revoke, reveal by explicit grant only (masked in
``repr``), typed errors."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from strongroom_client import Client
from strongroom_client.errors import (
    ApiKeyBlockedError,
    ApiKeyConflictError,
    ApiKeyExistsError,
    ApiKeyRevokedError,
    InvalidHostError,
    PermissionDeniedError,
    ProjectNotEmptyError,
)
from tests.client.conftest import ThreadServer

VALUE = "sk-sdk-canary-51e0"


async def test_stored_keys_through_the_client(sr: Any, service: ThreadServer) -> None:
    proj = f"sdk-{uuid.uuid4().hex[:8]}"
    await sr.projects.create(proj, "from the SDK")
    made = await sr.api_keys.create(
        proj, "openai", VALUE, provider="openai", hosts=["api.openai.com"], tags={"env": "t"}
    )
    assert made["version"] == 1 and VALUE not in str(made)
    with pytest.raises(ApiKeyExistsError):
        await sr.api_keys.create(proj, "openai", VALUE)
    with pytest.raises(InvalidHostError):
        await sr.api_keys.create(proj, "bad", VALUE, hosts=["*.com"])
    assert [k["name"] for k in (await sr.api_keys.list(proj))["keys"]] == ["openai"]
    assert (await sr.projects.get(proj))["keys"] == 1
    assert any(p["name"] == proj for p in (await sr.projects.list())["projects"])

    updated = await sr.api_keys.update(proj, "openai", version=1, sensitivity="high")
    assert updated["version"] == 2 and updated["sensitivity"] == "high"
    with pytest.raises(ApiKeyConflictError):
        await sr.api_keys.update(proj, "openai", version=1, tags={})

    token = uuid.uuid4().hex
    first = await sr.api_keys.rotate(proj, "openai", "sk-sdk-rotated-2", request_token=token)
    again = await sr.api_keys.rotate(proj, "openai", "sk-sdk-rotated-2", request_token=token)
    assert again["replayed"] is True and again["version"] == first["version"]
    assert (await sr.api_keys.usable(proj, "openai"))["overlap"] is True

    with pytest.raises(PermissionDeniedError):  # "*" does not confer reveal
        await sr.api_keys.reveal(proj, "openai")
    one = await sr.api_keys.get(proj, "openai")
    assert one["name"] == "openai" and one["sensitivity"] == "high" and VALUE not in str(one)
    # A grant that names api-keys:reveal on this project: the value, masked in repr.
    role = f"revealer-{uuid.uuid4().hex[:6]}"
    await sr.roles.put(role, [{"permission": "api-keys:reveal", "resource": f"{proj}/*"}])
    revealer = (await sr.access_keys.create([role]))["key"]
    with Client(service.addr, api_key=revealer, env={}) as c:
        shown = c.api_keys.reveal(proj, "openai")
    assert shown["value"] == "sk-sdk-rotated-2" and "sk-sdk-rotated-2" not in repr(shown)

    await sr.api_keys.block(proj, "openai", "sdk test")
    with pytest.raises(ApiKeyBlockedError):
        await sr.api_keys.usable(proj, "openai")
    await sr.api_keys.unblock(proj, "openai")
    await sr.api_keys.revoke(proj, "openai")
    with pytest.raises(ApiKeyRevokedError):
        await sr.api_keys.usable(proj, "openai")
    with pytest.raises(ProjectNotEmptyError):
        await sr.projects.delete(proj)
    await sr.api_keys.delete(proj, "openai")
    await sr.projects.delete(proj)
