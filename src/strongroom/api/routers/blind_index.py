"""Blind index tokens for equality search over encrypted fields (docs/blind-index.md)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, BeforeValidator, Field

from strongroom.access.permissions import Permission
from strongroom.api.deps import Call, authorized_call, body_doc, json_response
from strongroom.api.schemas import Strict, UserId, _integral, examples
from strongroom.keys.blind_index import MAX_LENGTH, MIN_LENGTH

router = APIRouter(prefix="/api/v1", tags=["data"])

Normalisation = Literal["case", "whitespace", "digits"]


class BlindIndexRequest(Strict):
    model_config = examples(
        {"userId": "alice", "field": "email", "data": ["Alice@Example.com"], "normalize": ["case"]}
    )
    userId: UserId | None = Field(
        default=None, description="Per-user index; absent: one index for the tenant"
    )
    field: Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:/-]+$")]
    data: list[str]
    normalize: list[Normalisation] = Field(
        default_factory=list, description="Applied in the order digits, whitespace, case"
    )
    # Bounds before the validator, as in api/schemas.py (Days): JSON Schema's integer 8.0.
    length: Annotated[int, Field(ge=MIN_LENGTH, le=MAX_LENGTH), BeforeValidator(_integral)] = Field(
        default=MAX_LENGTH, description="Bytes kept of each token (fewer: more false positives)"
    )


class BlindIndexResponse(BaseModel):
    model_config = examples({"tokens": ["q0vN3m5b8hG1c2sXqg0F9w"]})
    tokens: list[str]


BlindIndexCall = Annotated[
    Call[BlindIndexRequest],
    Depends(authorized_call(Permission.KEYS_BLIND_INDEX, BlindIndexRequest)),
]


@router.post(
    "/blind-index", response_model=BlindIndexResponse, openapi_extra=body_doc(BlindIndexRequest)
)
async def blind_index(call: BlindIndexCall) -> Response:
    """Keyed equality tokens of ``data``: equal (normalised) values of one field and
    user give equal tokens; other users, fields or options give unrelated ones."""
    b = call.body
    out = await call.svc.blind_index.tokens(
        call.actor, b.userId, b.field, b.data, b.normalize, b.length
    )
    return json_response(BlindIndexResponse(tokens=out))
