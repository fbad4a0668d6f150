"""Offline encryption: ciphertexts made by the client from a verified key statement
open on the service for every public-key suite; a swapped key, a statement for
another user or under another signing key is refused; rotation refreshes the cache."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from strongroom_client import (
    Client,
    ConfigurationError,
    InvalidInputError,
    KeyStatementError,
    StrongroomError,
)
from strongroom_client._format import b64url
from strongroom_client.errors import PayloadTooLargeError
from tests.client.conftest import ThreadServer

SUITES = ["x25519-hpke", "p256-hpke", "mlkem768-x25519-hpke"]


def user() -> str:
    return f"o-{uuid.uuid4().hex[:12]}"


@pytest.mark.parametrize("key_type", SUITES)
async def test_offline_ciphertexts_of_every_suite_open_on_the_service(
    sr: Any, key_type: str
) -> None:
    alice = user()
    await sr.keys.create(alice, key_type=key_type)
    items = ["Alice Smith", "", "\u00e9\u00e8 \U0001f512", "x" * 5000]
    ct = await sr.encrypt_offline(alice, items, context="profile")
    assert all(c.startswith("sr:v1:") for c in ct)
    assert await sr.decrypt(alice, ct, context="profile") == items
    with pytest.raises(InvalidInputError):
        await sr.decrypt(alice, ct)  # the context is bound offline too
    # ... and the service's own ciphertexts rewrap alongside them.
    rewrapped = await sr.rewrap(alice, ct, context="profile")
    assert await sr.decrypt(alice, rewrapped.items, context="profile") == items


async def test_items_the_service_would_refuse_are_refused_offline(sr: Any) -> None:
    dave = user()
    await sr.keys.create(dave)
    largest = "x" * 65536  # the service's default MAX_ITEM_BYTES
    assert await sr.decrypt(dave, await sr.encrypt_offline(dave, [largest])) == [largest]
    with pytest.raises(PayloadTooLargeError) as big:
        await sr.encrypt_offline(dave, ["ok", largest + "x"])
    assert big.value.details == {"index": 1, "limit": 65536}


async def test_rotation_refreshes_the_cached_statement(sr: Any) -> None:
    bob = user()
    await sr.keys.create(bob)
    first = await sr.encrypt_offline(bob, ["a"])
    statement = await sr.offline.statement(bob)
    assert first[0].startswith("sr:v1:") and statement.version == 1
    await sr.rotate(bob, [])
    second = await sr.encrypt_offline(bob, ["b"])
    assert second[0].startswith("sr:v2:")
    assert await sr.decrypt(bob, first + second) == ["a", "b"]


async def test_symmetric_keys_have_no_statement(sr: Any) -> None:
    carol = user()
    await sr.keys.create(carol, key_type="aes256-gcm")
    with pytest.raises(InvalidInputError):
        await sr.encrypt_offline(carol, ["c"])


class Tamper(httpx.HTTPTransport):
    """A hostile network path: rewrites public-key answers with ``edit``."""

    def __init__(self, edit: Any) -> None:
        super().__init__()
        self.edit = edit

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        if not request.url.path.endswith("/public"):
            return response
        response.read()
        body = self.edit(json.loads(response.content))
        return httpx.Response(response.status_code, json=body, request=request)


def test_a_swapped_key_statement_is_refused(
    service: ThreadServer, admin_key: str, service_key: str
) -> None:
    alice, mallory = user(), user()
    with Client(service.addr, api_key=admin_key, env={}) as admin:
        admin.keys.create(alice)
        admin.keys.create(mallory)
        mallorys = admin.keys.public_key(mallory)

    def swap_key(body: dict[str, Any]) -> dict[str, Any]:
        return {**body, "publicKey": mallorys["publicKey"]}  # the JSON field is never used

    def other_user(body: dict[str, Any]) -> dict[str, Any]:
        return {**mallorys, "userId": body["userId"]}

    def forged(body: dict[str, Any]) -> dict[str, Any]:
        return {**body, "signature": b64url(Ed25519PrivateKey.generate().sign(b"x"))}

    def stripped(body: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in body.items() if k not in ("statement", "signature")}

    with Client(
        service.addr, api_key=admin_key, service_key=service_key, transport=Tamper(swap_key), env={}
    ) as c:
        ct = c.encrypt_offline(alice, ["still alice's"])
        assert c.decrypt(alice, ct) == ["still alice's"]
    for edit, reason in ((other_user, "another user"), (forged, "signature"), (stripped, "no key")):
        with (
            Client(
                service.addr,
                api_key=admin_key,
                service_key=service_key,
                transport=Tamper(edit),
                env={},
            ) as c,
            pytest.raises(KeyStatementError, match=reason),
        ):
            c.encrypt_offline(alice, ["x"])

    other = Ed25519PrivateKey.generate().public_key()
    pem = other.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    with (
        Client(service.addr, api_key=admin_key, service_key=pem, env={}) as c,
        pytest.raises(KeyStatementError, match="another service key"),
    ):
        c.encrypt_offline(alice, ["x"])
    with (
        Client(service.addr, api_key=admin_key, env={}) as unpinned,
        pytest.raises(ConfigurationError),
    ):
        unpinned.encrypt_offline(alice, ["x"])
    elsewhere: dict[str, Any] = {"service_key": service_key, "tenant": "acme", "env": {}}
    with (
        Client(service.addr, api_key=admin_key, **elsewhere) as c,
        pytest.raises(StrongroomError),  # a tenant-bound key may not name another tenant
    ):
        c.encrypt_offline(alice, ["x"])


def test_the_client_ships_the_services_vectors() -> None:
    root = Path(__file__).parents[2]
    for name in ("ciphertext_v1.json", "hpke_mlkem768_x25519.json"):
        ours = root / "clients" / "python" / "tests" / "vectors" / name
        assert (
            ours.read_bytes()
            == (root / "tests" / "unit" / "crypto" / "vectors" / name).read_bytes()
        )
