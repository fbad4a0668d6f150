"""Prometheus scrape endpoint, behind an access key with ``metrics:read`` (admin,
auditor): request counts and latencies are operational data, not for the public."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response

from strongroom.access.permissions import Permission
from strongroom.api.deps import require
from strongroom.context import Actor
from strongroom.observability.metrics import render

router = APIRouter(tags=["operations"])


_EXAMPLE = 'strongroom_http_requests_total{method="POST",route="/api/v1/encrypt",status="200"} 42\n'


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {
            "description": "Prometheus text format",
            "content": {"text/plain": {"schema": {"type": "string"}, "example": _EXAMPLE}},
        }
    },
)
async def metrics(_: Annotated[Actor, Depends(require(Permission.METRICS_READ))]) -> Response:
    body, content_type = render()
    return Response(body, media_type=content_type, headers={"Cache-Control": "no-store"})
