"""Usage of stored API keys (``GET /api/v1/projects/{project}/api-keys/{key}/usage``).

``sr.usage.api_key(project, key, ...)`` is the same call as
``sr.api_keys.usage(project, key, ...)`` (kept: it came first)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from strongroom_client._async.resource import AsyncResource
from strongroom_client._core import Request

_USAGE = "/api/v1/projects/{project}/api-keys/{key}/usage"


class AsyncUsage(AsyncResource):
    async def api_key(
        self,
        project: str,
        key: str,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        granularity: str = "hour",
    ) -> dict[str, Any]:
        """Uses of ``project``/``key`` per ``hour`` or ``day`` over ``[start, end)``
        (default: the last 24 hours, or 30 days by day), with ``byKind``,
        ``byStatusClass``, ``byCaller``, ``byHost``, ``lastUsed`` and ``recentSources``.
        Needs ``api-keys:read`` on the key; 400 ``USG001``/``USG002`` for a bad range
        or granularity."""
        params: dict[str, Any] = {"granularity": granularity}
        if start is not None:
            params["from"] = start.isoformat()
        if end is not None:
            params["to"] = end.isoformat()
        answer: dict[str, Any] = await self._t.call(
            Request("GET", _USAGE, {"project": project, "key": key}, params=params, idempotent=True)
        )
        return answer
