"""The contract every KMS backend passes, each against a real server or token:
the local key file, AWS KMS (moto in server mode), OpenBao transit, and SoftHSM2.

Each backend runs behind ``ResilientKms`` where production would put it, so the
contract covers the wrapper too.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from strongroom.kms.interfaces import Kms, KmsError, KmsUnavailable, Wrapped, backend_of
from strongroom.kms.local import LocalKms
from strongroom.kms.resilience import ResilientKms
from tests.kms_services import MotoKms, SoftHsmToken, TransitKey

CTX = {"purpose": "user-key", "tenant": "t1", "user": "alice", "version": "1", "type": "x"}
MATERIAL = os.urandom(32)
BACKENDS = ["local", "aws", "openbao", "pkcs11"]


async def make_backend(name: str, request: pytest.FixtureRequest, tmp_path: Path) -> Kms:
    if name == "local":
        return LocalKms(os.urandom(32))
    if name == "aws":
        from strongroom.kms.aws import AwsKms

        moto: MotoKms = request.getfixturevalue("moto_kms")
        return ResilientKms(AwsKms(moto.key_id, region=moto.region, endpoint_url=moto.endpoint))
    if name == "openbao":
        from strongroom.kms.openbao import OpenBaoKms

        transit: TransitKey = request.getfixturevalue("openbao_transit")
        return ResilientKms(OpenBaoKms(transit.addr, key=transit.key, token=transit.token))
    from strongroom.kms.pkcs11 import Pkcs11Kms

    token: SoftHsmToken = request.getfixturevalue("softhsm_token")
    label = f"root-{uuid.uuid4().hex[:8]}"
    return ResilientKms(Pkcs11Kms(token.library, token.label, token.pin, label, create=True))


@pytest.fixture(params=BACKENDS)
async def kms(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Kms]:
    backend = await make_backend(request.param, request, tmp_path)
    yield backend
    await backend.close()


async def test_round_trip_and_key_ref_names_the_backend(kms: Kms) -> None:
    wrapped = await kms.wrap(MATERIAL, CTX)
    assert backend_of(wrapped.key_ref) == kms.name
    assert wrapped.key_ref == kms.key_ref
    assert MATERIAL not in wrapped.blob
    assert await kms.unwrap(wrapped, CTX) == MATERIAL


@pytest.mark.parametrize("size", [1, 32, 64, 2400])
async def test_material_of_every_size_we_store(kms: Kms, size: int) -> None:
    # 2400 bytes covers an ML-KEM-768 + X25519 private key with room to spare.
    material = os.urandom(size)
    assert await kms.unwrap(await kms.wrap(material, CTX), CTX) == material


async def test_two_wraps_differ(kms: Kms) -> None:
    a, b = await kms.wrap(MATERIAL, CTX), await kms.wrap(MATERIAL, CTX)
    assert a.blob != b.blob


@pytest.mark.parametrize("field", ["tenant", "user", "version", "purpose"])
async def test_context_is_bound(kms: Kms, field: str) -> None:
    wrapped = await kms.wrap(MATERIAL, CTX)
    with pytest.raises(KmsError) as err:
        await kms.unwrap(wrapped, {**CTX, field: CTX[field] + "x"})
    assert not isinstance(err.value, KmsUnavailable)  # a refusal, never retried


async def test_context_with_extra_or_missing_field_is_refused(kms: Kms) -> None:
    wrapped = await kms.wrap(MATERIAL, CTX)
    with pytest.raises(KmsError):
        await kms.unwrap(wrapped, {**CTX, "extra": "1"})
    with pytest.raises(KmsError):
        await kms.unwrap(wrapped, {k: v for k, v in CTX.items() if k != "user"})


async def test_tampered_blob_is_refused(kms: Kms) -> None:
    wrapped = await kms.wrap(MATERIAL, CTX)
    blob = bytearray(wrapped.blob)
    blob[len(blob) // 2] ^= 0x01
    for bad in (bytes(blob), wrapped.blob[:-1], b"", b"\x00" * 10):
        with pytest.raises(KmsError):
            await kms.unwrap(Wrapped(wrapped.key_ref, bad), CTX)


async def test_refusal_messages_carry_no_material(kms: Kms) -> None:
    wrapped = await kms.wrap(MATERIAL, CTX)
    with pytest.raises(KmsError) as err:
        await kms.unwrap(wrapped, {**CTX, "user": "mallory"})
    text = f"{err.value} {err.value.reason} {err.value!r}"
    assert "mallory" not in text and MATERIAL.hex() not in text


async def test_rewrap_keeps_material_and_uses_current_key(kms: Kms) -> None:
    wrapped = await kms.wrap(MATERIAL, CTX)
    moved = await kms.rewrap(wrapped, CTX)
    assert moved.key_ref == kms.key_ref
    assert moved.blob != wrapped.blob
    assert await kms.unwrap(moved, CTX) == MATERIAL
    with pytest.raises(KmsError):
        await kms.rewrap(wrapped, {**CTX, "user": "bob"})


async def test_concurrent_calls(kms: Kms) -> None:
    materials = [os.urandom(32) for _ in range(16)]
    wrapped = await asyncio.gather(*(kms.wrap(m, CTX) for m in materials))
    opened = await asyncio.gather(*(kms.unwrap(w, CTX) for w in wrapped))
    assert opened == materials


async def test_health(kms: Kms) -> None:
    assert await kms.health() is True
