"""Every endpoint through the client, sync and async (``sr`` runs each test twice),
against a real service over TCP (tests/client/conftest.py)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from strongroom_client import InvalidInputError, KeyNotFoundError, Secret
from strongroom_client.errors import (
    AuthenticationError,
    KeyDisabledError,
    KeyExistsError,
    PermissionDeniedError,
)
from tests.client.conftest import ISSUER, ThreadServer


def user() -> str:
    return f"u-{uuid.uuid4().hex[:12]}"


async def test_key_lifecycle_metadata_history_policy_deletion(sr: Any) -> None:
    alice = user()
    created = await sr.keys.create(alice, key_type="p256-hpke", rotation_period_days=30)
    assert created["keyType"] == "p256-hpke" and created["currentVersion"] == 1
    with pytest.raises(KeyExistsError):
        await sr.keys.create(alice)
    meta = await sr.keys.get(alice)
    assert meta["rotationPeriodDays"] == 30 and meta["state"] == "enabled"
    public = await sr.keys.public_key(alice)
    assert public["tenant"] == "default" and public["version"] == 1
    assert public["statement"] and public["signature"] and public["serviceKeyId"]

    rotated = await sr.rotate(alice, [], reason="compliance")
    assert rotated.version == 2
    history = await sr.keys.history(alice)
    assert [(h["event"], h["reason"]) for h in history][-1] == ("rotated", "compliance")
    policy = await sr.keys.update_policy(alice, min_decryption_version=2, rotation_period_days=60)
    assert policy["minDecryptionVersion"] == 2 and policy["rotationPeriodDays"] == 60

    pending = await sr.keys.schedule_deletion(alice, waiting_period_days=1)
    assert pending["state"] == "pending_deletion"
    with pytest.raises(KeyDisabledError) as disabled:
        await sr.encrypt(alice, ["x"])
    assert disabled.value.status == 409 and disabled.value.request_id
    restored = await sr.keys.cancel_deletion(alice)
    assert restored["state"] == "enabled"
    with pytest.raises(KeyNotFoundError):
        await sr.keys.get(user())


async def test_encrypt_decrypt_rewrap_rotate_with_context(sr: Any) -> None:
    bob = user()
    await sr.keys.create(bob)
    items = ["Bob Smith", "123-45-6789", ""]
    ct = await sr.encrypt(bob, items, context="invoice-7")
    assert all(c.startswith("sr:v1:") for c in ct)
    plain = await sr.decrypt(bob, ct, context="invoice-7")
    assert plain == items and all(isinstance(p, Secret) for p in plain)
    with pytest.raises(InvalidInputError) as bad:
        await sr.decrypt(bob, ct)  # the context is bound
    assert bad.value.details["index"] == 0

    each = await sr.data.decrypt_each(bob, [ct[0], "sr:v1:AAAA"], context="invoice-7")
    assert each[0].value == items[0] and each[0].error is None
    assert each[1].value is None and each[1].error.code == "ENC001"
    assert each[1].error.details["index"] == 1

    rotated = await sr.rotate(bob, [{"name": ct[0], "age": 42}], context="invoice-7")
    assert rotated.version == 2 and rotated.data[0]["age"] == 42
    assert rotated.data[0]["name"].startswith("sr:v2:")
    rewrapped = await sr.rewrap(bob, ct[1:], context="invoice-7")
    assert rewrapped.version == 2 and all(c.startswith("sr:v2:") for c in rewrapped.items)
    assert await sr.decrypt(bob, rewrapped.items, context="invoice-7") == items[1:]


async def test_batches_are_split_under_the_servers_limit(
    service: ThreadServer, admin_key: str
) -> None:
    from strongroom_client import AsyncClient

    carol = user()
    items = [f"item {i}" for i in range(2300)]
    # Told nothing, the client starts above the service's limit (1000) and learns it.
    async with AsyncClient(service.addr, api_key=admin_key, batch_size=5000, env={}) as c:
        await c.keys.create(carol)
        ct = await c.encrypt(carol, items)
        assert c._transport.batch_size == 1000
        assert await c.decrypt(carol, ct) == items
        broken = [*ct[:1500], "sr:v1:AAAA", *ct[1501:]]
        with pytest.raises(InvalidInputError) as bad:
            await c.decrypt(carol, broken)
        assert bad.value.details["index"] == 1500  # counted over the whole batch


async def test_access_keys_roles_and_typed_auth_errors(sr: Any, service: ThreadServer) -> None:
    issued = await sr.access_keys.create(["encrypt-only"], description="svc")
    secret = issued["key"]
    assert isinstance(secret, Secret) and secret.startswith("srk_") and "srk_" not in repr(secret)
    key_id = issued["id"]
    assert (await sr.access_keys.get(key_id))["state"] == "active"
    page = await sr.access_keys.list(limit=100)
    assert key_id in {k["id"] for k in page["accessKeys"]}
    assert key_id in {k["id"] for k in await sr.access_keys.iter_all(page_size=1)}

    from strongroom_client import Client

    dave = user()
    await sr.keys.create(dave)
    with Client(service.addr, api_key=secret, env={}) as narrow:
        ct = narrow.encrypt(dave, ["d"])
        with pytest.raises(PermissionDeniedError):
            narrow.decrypt(dave, ct)
    rotated = await sr.access_keys.rotate(key_id, grace_seconds=0)
    assert rotated["key"] != secret
    revoked = await sr.access_keys.revoke(key_id)
    assert revoked["state"] == "revoked"
    with (
        Client(service.addr, api_key=rotated["key"], env={}) as gone,
        pytest.raises(AuthenticationError),
    ):
        gone.keys.get(dave)

    name = f"reader-{uuid.uuid4().hex[:6]}"
    grants = [{"permission": "keys:read", "scope": "tenant"}]
    role = await sr.roles.put(name, grants, description="reads keys")
    assert role["name"] == name
    assert name in {r["name"] for r in (await sr.roles.list())["roles"]}
    assert (await sr.roles.get(name))["grants"] == grants
    assert await sr.roles.delete(name) is None


async def test_token_revocation_audit_and_health(sr: Any) -> None:
    jti = uuid.uuid4().hex
    first = await sr.tokens.revoke(ISSUER, jti)
    again = await sr.tokens.revoke(ISSUER, jti)
    assert first["alreadyRevoked"] is False and again["alreadyRevoked"] is True

    erin = user()
    await sr.keys.create(erin)
    await sr.blind_index.tokens("email", ["e@example.com"], user_id=erin)
    found = await sr.audit.records(action="key.blind_index", limit=1000)
    assert any(r["target"] == erin for r in found["records"])
    walked = await sr.audit.iter_records(page_size=2, action="key.*", target=erin)
    assert [r["action"] for r in walked] == ["key.create", "key.blind_index"]
    looked = await sr.audit.lookup(erin)
    assert {r["action"] for r in looked["records"]} >= {"key.create", "key.blind_index"}
    verified = await sr.audit.verify()
    assert verified["status"] in ("ok", "unconfirmed")
    assert "BEGIN PUBLIC KEY" in (await sr.audit.public_key())["pem"]
    assert isinstance(await sr.audit.security_events(limit=10), list)

    assert (await sr.health.live())["status"] == "ok"
    assert (await sr.health.ready())["status"] == "ready"
    assert "strongroom_" in await sr.health.metrics()
