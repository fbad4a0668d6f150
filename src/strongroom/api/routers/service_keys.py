"""The service's own public keys, for clients to pin (docs/key-statement.md)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from strongroom.access.permissions import Permission
from strongroom.api.deps import require, services
from strongroom.api.schemas import examples
from strongroom.context import Actor
from strongroom.crypto.codec import b64url
from strongroom.services.container import Services

router = APIRouter(prefix="/api/v1", tags=["keys"])


class ServiceKeyOut(BaseModel):
    keyId: str
    algorithm: str
    publicKey: str
    pem: str


class ServiceKeysOut(BaseModel):
    model_config = examples(
        {
            "keyStatement": {
                "keyId": "3f0c1e4a9b7d2c6e8f1a0b3c5d7e9f21",
                "algorithm": "Ed25519",
                "publicKey": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
                "pem": "-----BEGIN PUBLIC KEY-----\n...\n-----END PUBLIC KEY-----\n",
            }
        }
    )
    keyStatement: ServiceKeyOut


@router.get("/service-keys", response_model=ServiceKeysOut)
async def get_service_keys(
    svc: Annotated[Services, Depends(services)],
    _actor: Annotated[Actor, Depends(require(Permission.KEYS_READ_PUBLIC))],
) -> ServiceKeysOut:
    """The key that signs key statements. Pin it from a trusted channel (e.g. at
    deployment); a client must not learn it from the connection it protects."""
    info = await svc.statements.service_key()
    out = ServiceKeyOut(
        keyId=info.key_id, algorithm=info.algorithm, publicKey=b64url(info.public_raw), pem=info.pem
    )
    return ServiceKeysOut(keyStatement=out)
