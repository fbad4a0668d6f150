"""The vault through the client, sync and async, against a real service: versions,
check-and-set, merge patch, delete/undelete/destroy, labels and promote, metadata,
listing with a metadata filter, typed errors; values masked in ``repr``."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from strongroom_client.errors import (
    CasMismatchError,
    NothingPendingError,
    SecretNotFoundError,
    SecretVersionGoneError,
)


async def test_the_vault_through_the_client(sr: Any) -> None:
    path = f"apps/sdk-{uuid.uuid4().hex[:8]}/stripe"
    first = await sr.secrets.put(path, {"apiKey": "sk_canary_1"}, cas=0)
    assert first["metadata"]["version"] == 1
    with pytest.raises(CasMismatchError):
        await sr.secrets.put(path, {"apiKey": "lost"}, cas=0)
    await sr.secrets.patch(path, {"region": "eu"}, cas=1)
    got = await sr.secrets.get(path)
    assert got["data"] == {"apiKey": "sk_canary_1", "region": "eu"}
    assert "sk_canary_1" not in repr(got)  # SecretData masks its repr
    assert (await sr.secrets.get(path, version=1))["data"] == {"apiKey": "sk_canary_1"}

    token = uuid.uuid4().hex
    a = await sr.secrets.put(path, {"apiKey": "sk_canary_3"}, label="pending", request_token=token)
    again = await sr.secrets.put(
        path, {"apiKey": "sk_canary_3"}, label="pending", request_token=token
    )
    assert again["replayed"] is True and again["metadata"]["version"] == a["metadata"]["version"]
    assert (await sr.secrets.get(path))["metadata"]["version"] == 2  # current still serves
    meta = await sr.secrets.promote(path)
    assert (meta["currentVersion"], meta["previousVersion"]) == (3, 2)
    with pytest.raises(NothingPendingError):
        await sr.secrets.promote(path)

    assert (await sr.secrets.delete(path, [1]))["versions"] == [1]
    with pytest.raises(SecretVersionGoneError):
        await sr.secrets.get(path, version=1)
    await sr.secrets.undelete(path, [1])
    assert (await sr.secrets.get(path, version=1))["data"]["apiKey"] == "sk_canary_1"
    await sr.secrets.destroy(path, [1])
    with pytest.raises(SecretVersionGoneError):
        await sr.secrets.get(path, version=1)

    await sr.secrets.update_metadata(path, max_versions=5, custom_metadata={"env": "prod"})
    assert (await sr.secrets.metadata(path))["maxVersions"] == 5
    prefix = path.rsplit("/", 1)[0] + "/"
    assert (await sr.secrets.list(prefix, meta={"env": "prod"}))["keys"] == [path]
    assert (await sr.secrets.list(prefix, meta={"env": "dev"}))["keys"] == []

    await sr.secrets.purge(path)
    with pytest.raises(SecretNotFoundError):
        await sr.secrets.get(path)
