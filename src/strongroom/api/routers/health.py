"""Liveness and readiness."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from strongroom.api.deps import services
from strongroom.api.schemas import examples
from strongroom.services.container import Services

router = APIRouter(tags=["health"])


class HealthOut(BaseModel):
    model_config = examples({"status": "ok"})
    status: Literal["ok"]


class ReadyOut(BaseModel):
    model_config = examples(
        {"status": "ready", "checks": {"database": True, "kms": True, "key_cache_trusted": True}}
    )
    status: Literal["ready", "unavailable"]
    checks: dict[str, bool]


@router.get("/healthz", response_model=HealthOut)
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    response_model=ReadyOut,
    responses={503: {"model": ReadyOut, "description": "A dependency cannot serve"}},
)
async def readyz(svc: Annotated[Services, Depends(services)]) -> JSONResponse:
    ok, checks = await svc.readiness()
    body = {"status": "ready" if ok else "unavailable", "checks": checks}
    return JSONResponse(body, status_code=200 if ok else 503)
