"""The seed's data endpoints: encrypt, decrypt, rotate; plus rewrap."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from strongroom.api.deps import require, services
from strongroom.api.schemas import (
    DecryptRequest,
    DecryptResponse,
    EncryptRequest,
    EncryptResponse,
    RewrapRequest,
    RewrapResponse,
    RotateRequest,
    RotateResponse,
)
from strongroom.audit.models import Actor
from strongroom.keys.models import RotationReason
from strongroom.services.container import Services

router = APIRouter(prefix="/api/v1", tags=["data"])
Svc = Annotated[Services, Depends(services)]


@router.post("/encrypt", response_model=EncryptResponse)
async def encrypt(
    body: EncryptRequest, svc: Svc, actor: Annotated[Actor, Depends(require("keys:encrypt"))]
) -> EncryptResponse:
    out = await svc.keys.encrypt(actor, body.userId, body.data, body.context)
    return EncryptResponse(encryptedData=out)


@router.post("/decrypt", response_model=DecryptResponse)
async def decrypt(
    body: DecryptRequest, svc: Svc, actor: Annotated[Actor, Depends(require("keys:decrypt"))]
) -> DecryptResponse:
    out = await svc.keys.decrypt(actor, body.userId, body.data, body.context)
    return DecryptResponse(decryptedData=out)


@router.post("/rotate", response_model=RotateResponse)
async def rotate(
    body: RotateRequest, svc: Svc, actor: Annotated[Actor, Depends(require("keys:rotate"))]
) -> RotateResponse:
    out, version = await svc.rotation.rotate(
        actor, body.userId, body.data, RotationReason(body.reason), body.context
    )
    return RotateResponse(rotatedData=out, version=version)


@router.post("/rewrap", response_model=RewrapResponse)
async def rewrap(
    body: RewrapRequest, svc: Svc, actor: Annotated[Actor, Depends(require("keys:rotate"))]
) -> RewrapResponse:
    out, version = await svc.keys.rewrap(actor, body.userId, body.data, body.context)
    return RewrapResponse(rewrappedData=out, version=version)
