"""The seed's data endpoints: encrypt, decrypt, rotate; plus rewrap.

These are the hot path: one flat dependency (``authorized_call``) authenticates,
authorizes and parses the body in one pass of pydantic's core; responses are
serialised by ``json_response``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response

from strongroom.access.permissions import Permission
from strongroom.api.deps import Call, authorized_call, body_doc, json_response
from strongroom.api.schemas import (
    DecryptItemsResponse,
    DecryptRequest,
    DecryptResponse,
    EncryptRequest,
    EncryptResponse,
    RewrapItemsResponse,
    RewrapRequest,
    RewrapResponse,
    RotateRequest,
    RotateResponse,
)
from strongroom.keys.models import RotationReason

router = APIRouter(prefix="/api/v1", tags=["data"])

EncryptCall = Annotated[
    Call[EncryptRequest], Depends(authorized_call(Permission.KEYS_ENCRYPT, EncryptRequest))
]
DecryptCall = Annotated[
    Call[DecryptRequest], Depends(authorized_call(Permission.KEYS_DECRYPT, DecryptRequest))
]
RotateCall = Annotated[
    Call[RotateRequest], Depends(authorized_call(Permission.KEYS_ROTATE, RotateRequest))
]
RewrapCall = Annotated[
    Call[RewrapRequest], Depends(authorized_call(Permission.KEYS_ROTATE, RewrapRequest))
]


@router.post("/encrypt", response_model=EncryptResponse, openapi_extra=body_doc(EncryptRequest))
async def encrypt(call: EncryptCall) -> Response:
    """Encrypt strings under the user's current key version (one data key per request)."""
    b = call.body
    out = await call.svc.keys.encrypt(call.actor, b.userId, b.data, b.context)
    return json_response(EncryptResponse(encryptedData=out))


@router.post(
    "/decrypt",
    response_model=DecryptResponse | DecryptItemsResponse,
    openapi_extra=body_doc(DecryptRequest),
)
async def decrypt(call: DecryptCall) -> Response:
    """Decrypt ciphertexts of this user; any bad item gives ENC001 with its index. With
    ``partial: true``, 200 with each item's plaintext or error instead."""
    b = call.body
    if b.partial:
        each = await call.svc.keys.decrypt_each(call.actor, b.userId, b.data, b.context)
        return json_response(DecryptItemsResponse.of(each))
    out = await call.svc.keys.decrypt(call.actor, b.userId, b.data, b.context)
    return json_response(DecryptResponse(decryptedData=out))


@router.post("/rotate", response_model=RotateResponse, openapi_extra=body_doc(RotateRequest))
async def rotate(call: RotateCall) -> Response:
    """Create a new key version and re-encrypt every ciphertext in ``data``, all or nothing."""
    b = call.body
    reason = RotationReason(b.reason)
    out, version = await call.svc.rotation.rotate(call.actor, b.userId, b.data, reason, b.context)
    return json_response(RotateResponse(rotatedData=out, version=version))


@router.post(
    "/rewrap",
    response_model=RewrapResponse | RewrapItemsResponse,
    openapi_extra=body_doc(RewrapRequest),
)
async def rewrap(call: RewrapCall) -> Response:
    """Re-encrypt ciphertexts under the current version without rotating. With
    ``partial: true``, 200 with each item's new ciphertext or error instead."""
    b = call.body
    if b.partial:
        each, ver = await call.svc.keys.rewrap_each(call.actor, b.userId, b.data, b.context)
        return json_response(RewrapItemsResponse.of(each, ver))
    out, version = await call.svc.keys.rewrap(call.actor, b.userId, b.data, b.context)
    return json_response(RewrapResponse(rewrappedData=out, version=version))
