"""Liveness and readiness."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from strongroom.api.deps import services
from strongroom.services.container import Services

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(svc: Annotated[Services, Depends(services)]) -> JSONResponse:
    ok, checks = await svc.readiness()
    body = {"status": "ready" if ok else "unavailable", "checks": checks}
    return JSONResponse(body, status_code=200 if ok else 503)
