"""OpenBao AppRole login: a least-privilege role (the policy docs/operations.md gives
operators: transit encrypt/decrypt and key read on one key), and a fresh login when
the token it was given is revoked."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from strongroom.kms.interfaces import KmsError
from strongroom.kms.openbao import OpenBaoKms
from tests.kms_services import TransitKey, bao_request

CTX = {"purpose": "user-key", "user": "alice"}
OPERATIONS = Path(__file__).resolve().parents[3] / "docs" / "operations.md"


def documented_policy(key: str) -> str:
    """The policy docs/operations.md tells operators to write, for ``key``."""
    text = OPERATIONS.read_text(encoding="utf-8")
    blocks: list[str] = re.findall(r"```hcl\n(.*?)```", text, flags=re.S)
    assert len(blocks) == 1
    return blocks[0].replace("strongroom-root", key)


def approle(transit: TransitKey) -> tuple[str, str]:
    addr, root = transit.addr, transit.token
    auths = bao_request(addr, root, "GET", "/v1/sys/auth")
    if "approle/" not in auths.get("data", auths):
        bao_request(addr, root, "POST", "/v1/sys/auth/approle", {"type": "approle"})
    policy = documented_policy(transit.key)
    name = f"sr-{transit.key}"
    bao_request(addr, root, "PUT", f"/v1/sys/policies/acl/{name}", {"policy": policy})
    bao_request(addr, root, "POST", f"/v1/auth/approle/role/{name}", {"token_policies": [name]})
    role_id = bao_request(addr, root, "GET", f"/v1/auth/approle/role/{name}/role-id")
    secret = bao_request(addr, root, "POST", f"/v1/auth/approle/role/{name}/secret-id")
    return role_id["data"]["role_id"], secret["data"]["secret_id"]


async def test_approle_login_round_trip_and_relogin(openbao_transit: TransitKey) -> None:
    kms = OpenBaoKms(
        openbao_transit.addr, key=openbao_transit.key, approle=approle(openbao_transit)
    )
    try:
        material = os.urandom(32)
        wrapped = await kms.wrap(material, CTX)
        assert await kms.health() is True
        # Revoke the token the backend logged in with: the next call logs in again.
        token = kms._token
        assert token is not None
        bao_request(openbao_transit.addr, token, "POST", "/v1/auth/token/revoke-self")
        assert await kms.unwrap(wrapped, CTX) == material
        assert kms._token != token
    finally:
        await kms.close()


async def test_role_cannot_use_another_key(openbao_transit: TransitKey) -> None:
    creds = approle(openbao_transit)
    other = OpenBaoKms(openbao_transit.addr, key="not-this-roles-key", approle=creds)
    try:
        assert await other.health() is False
    finally:
        await other.close()


async def test_the_documented_policy_is_enough_and_no_more(openbao_transit: TransitKey) -> None:
    kms = OpenBaoKms(
        openbao_transit.addr, key=openbao_transit.key, approle=approle(openbao_transit)
    )
    try:
        material = os.urandom(32)
        wrapped = await kms.wrap(material, CTX)
        rewrapped = await kms.rewrap(wrapped, CTX)  # what `kms rewrap` does
        assert await kms.unwrap(rewrapped, CTX) == material
        assert await kms.health() is True
        # Rotating the root key is the administrator's act, not the service's.
        with pytest.raises(KmsError) as refused:
            await kms.rotate_root()
        assert refused.value.reason == "KMS refused the request (403)"
    finally:
        await kms.close()
