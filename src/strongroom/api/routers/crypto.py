"""The seed's data endpoints: encrypt, decrypt, rotate; plus rewrap.

These are the hot path: bodies are parsed by ``json_body`` and responses
serialised by ``json_response`` (one pass each in pydantic's core).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response

from strongroom.api.deps import body_doc, json_body, json_response, require, services
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


@router.post("/encrypt", response_model=EncryptResponse, openapi_extra=body_doc(EncryptRequest))
async def encrypt(
    actor: Annotated[Actor, Depends(require("keys:encrypt"))],
    body: Annotated[EncryptRequest, Depends(json_body(EncryptRequest))],
    svc: Svc,
) -> Response:
    """Encrypt strings under the user's current key version (one data key per request)."""
    out = await svc.keys.encrypt(actor, body.userId, body.data, body.context)
    return json_response(EncryptResponse(encryptedData=out))


@router.post("/decrypt", response_model=DecryptResponse, openapi_extra=body_doc(DecryptRequest))
async def decrypt(
    actor: Annotated[Actor, Depends(require("keys:decrypt"))],
    body: Annotated[DecryptRequest, Depends(json_body(DecryptRequest))],
    svc: Svc,
) -> Response:
    """Decrypt ciphertexts of this user; any bad item gives ENC001 with its index."""
    out = await svc.keys.decrypt(actor, body.userId, body.data, body.context)
    return json_response(DecryptResponse(decryptedData=out))


@router.post("/rotate", response_model=RotateResponse, openapi_extra=body_doc(RotateRequest))
async def rotate(
    actor: Annotated[Actor, Depends(require("keys:rotate"))],
    body: Annotated[RotateRequest, Depends(json_body(RotateRequest))],
    svc: Svc,
) -> Response:
    """Create a new key version and re-encrypt every ciphertext in ``data``, all or nothing."""
    out, version = await svc.rotation.rotate(
        actor, body.userId, body.data, RotationReason(body.reason), body.context
    )
    return json_response(RotateResponse(rotatedData=out, version=version))


@router.post("/rewrap", response_model=RewrapResponse, openapi_extra=body_doc(RewrapRequest))
async def rewrap(
    actor: Annotated[Actor, Depends(require("keys:rotate"))],
    body: Annotated[RewrapRequest, Depends(json_body(RewrapRequest))],
    svc: Svc,
) -> Response:
    """Re-encrypt ciphertexts under the current version without rotating."""
    out, version = await svc.keys.rewrap(actor, body.userId, body.data, body.context)
    return json_response(RewrapResponse(rewrappedData=out, version=version))
