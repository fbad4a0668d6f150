"""Key lifecycle: create, metadata, public key, history, policy, scheduled deletion."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Path

from strongroom.access.permissions import Permission
from strongroom.api.deps import require, services
from strongroom.api.schemas import (
    CreateKeyRequest,
    DeletionRequest,
    HistoryItem,
    HistoryOut,
    KeyMetadata,
    PolicyRequest,
    PublicKeyOut,
    UserId,
)
from strongroom.context import Actor
from strongroom.crypto.codec import b64url
from strongroom.crypto.suites import KEY_TYPES, KeyType
from strongroom.keys.statement import unix_time
from strongroom.services.container import Services

router = APIRouter(prefix="/api/v1/keys", tags=["keys"])
Svc = Annotated[Services, Depends(services)]
UserPath = Annotated[UserId, Path(examples=["alice"])]


@router.post("", status_code=201, response_model=KeyMetadata)
async def create_key(
    body: CreateKeyRequest,
    svc: Svc,
    actor: Annotated[Actor, Depends(require(Permission.KEYS_CREATE))],
) -> KeyMetadata:
    info = await svc.keys.create(actor, body.userId, body.keyType, body.rotationPeriodDays)
    return KeyMetadata.of(info)


@router.get("/{userId}", response_model=KeyMetadata)
async def get_key(
    userId: UserPath, svc: Svc, actor: Annotated[Actor, Depends(require(Permission.KEYS_READ))]
) -> KeyMetadata:
    return KeyMetadata.of(await svc.keys.metadata(actor, userId))


@router.get("/{userId}/public", response_model=PublicKeyOut)
async def get_public_key(
    userId: UserPath,
    svc: Svc,
    actor: Annotated[Actor, Depends(require(Permission.KEYS_READ_PUBLIC))],
) -> PublicKeyOut:
    """The current public key with the service's signed statement over it (tenant, user,
    version, key type, key, prefix, validity): verify it before encrypting offline."""
    answer = await svc.statements.public_key(actor, userId)
    info, signed = answer.info, answer.signed
    out = PublicKeyOut(
        userId=info.user_id,
        keyType=KeyType(info.key_type),
        version=info.current_version,
        publicKey=b64url(info.current.public_key or b""),
        ciphertextPrefix=svc.settings.keys.ciphertext_prefix,
        tenant=info.tenant,
        suite=KEY_TYPES[info.key_type],
    )
    if signed is not None:
        f = signed.fields
        out.statement = b64url(signed.statement)
        out.signature = b64url(signed.signature)
        out.serviceKeyId = f.service_key_id
        out.notBefore = unix_time(f.not_before)
        out.notAfter = unix_time(f.not_after)
    return out


@router.get("/{userId}/history", response_model=HistoryOut)
async def get_history(
    userId: UserPath, svc: Svc, actor: Annotated[Actor, Depends(require(Permission.KEYS_READ))]
) -> HistoryOut:
    entries = await svc.keys.history(actor, userId)
    return HistoryOut(userId=userId, history=[HistoryItem.of(h) for h in entries])


@router.patch("/{userId}/policy", response_model=KeyMetadata)
async def update_policy(
    userId: UserPath,
    body: PolicyRequest,
    svc: Svc,
    actor: Annotated[Actor, Depends(require(Permission.KEYS_ADMIN))],
) -> KeyMetadata:
    info = await svc.keys.update_policy(
        actor, userId, body.minDecryptionVersion, body.rotationPeriodDays
    )
    return KeyMetadata.of(info)


@router.post("/{userId}/deletion", response_model=KeyMetadata, status_code=202)
async def schedule_deletion(
    userId: UserPath,
    svc: Svc,
    actor: Annotated[Actor, Depends(require(Permission.KEYS_DELETE))],
    body: Annotated[DeletionRequest | None, Body()] = None,
) -> KeyMetadata:
    days = body.waitingPeriodDays if body else None
    return KeyMetadata.of(await svc.lifecycle.schedule_deletion(actor, userId, days))


@router.delete("/{userId}/deletion", response_model=KeyMetadata)
async def cancel_deletion(
    userId: UserPath, svc: Svc, actor: Annotated[Actor, Depends(require(Permission.KEYS_DELETE))]
) -> KeyMetadata:
    return KeyMetadata.of(await svc.lifecycle.cancel_deletion(actor, userId))
