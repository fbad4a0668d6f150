"""Liveness, readiness and metrics."""

from __future__ import annotations

from typing import Any

from strongroom_client._async.resource import AsyncResource
from strongroom_client._core import Request


class AsyncHealth(AsyncResource):
    async def live(self) -> dict[str, Any]:
        answer: dict[str, Any] = await self._t.call(Request("GET", "/healthz", idempotent=True))
        return answer

    async def ready(self) -> dict[str, Any]:
        """``{"status": "ready"|"unavailable", "checks"}`` (503 is an answer here)."""
        req = Request("GET", "/readyz", idempotent=True, ok_statuses=(503,))
        answer: dict[str, Any] = await self._t.call(req)
        return answer

    async def metrics(self) -> str:
        """Prometheus text (needs ``metrics:read``)."""
        answer: str = await self._t.call(Request("GET", "/metrics", idempotent=True, raw=True))
        return answer
