"""Audit trail queries, verification, the checkpoint key, security events."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from strongroom_client._async.resource import AsyncResource
from strongroom_client._core import Request


class AsyncAudit(AsyncResource):
    async def _get(self, path: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        answer: dict[str, Any] = await self._t.call(
            Request("GET", path, params=params, idempotent=True)
        )
        return answer

    async def records(
        self,
        start: datetime | None = None,
        end: datetime | None = None,
        actor: str | None = None,
        tenant: str | None = None,
        action: str | None = None,
        target: str | None = None,
        outcome: str | None = None,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> dict[str, Any]:
        """One page of records in write order: ``{"records", "nextCursor"}``."""
        params = {
            "from": start,
            "to": end,
            "actor": actor,
            "tenant": tenant,
            "action": action,
            "target": target,
            "outcome": outcome,
            "cursor": cursor,
            "limit": limit,
        }
        return await self._get("/api/v1/audit/records", params)

    async def iter_records(
        self, page_size: int = 500, **filters: Any
    ) -> AsyncIterator[dict[str, Any]]:
        """Every record matching ``filters`` (``records``' arguments), following
        ``nextCursor`` page by page."""
        cursor = None
        while True:
            page = await self.records(cursor=cursor, limit=page_size, **filters)
            for record in page["records"]:
                yield record
            cursor = page.get("nextCursor")
            if not cursor:
                return

    async def lookup(
        self,
        value: str,
        start: datetime | None = None,
        end: datetime | None = None,
        tenant: str | None = None,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> dict[str, Any]:
        """Records that mention ``value`` in clear or as a keyed HMAC."""
        params = {
            "value": value,
            "from": start,
            "to": end,
            "tenant": tenant,
            "cursor": cursor,
            "limit": limit,
        }
        return await self._get("/api/v1/audit/lookup", params)

    async def verify(
        self, start: datetime | None = None, end: datetime | None = None
    ) -> dict[str, Any]:
        """Check the trail: ``status`` ``ok``, ``unconfirmed`` or ``failed``."""
        return await self._get("/api/v1/audit/verify", {"from": start, "to": end})

    async def public_key(self) -> dict[str, Any]:
        """The checkpoint signing key: ``{"key_id", "algorithm", "pem"}``."""
        return await self._get("/api/v1/audit/public-key")

    async def security_events(self, limit: int | None = None) -> list[dict[str, Any]]:
        answer = await self._get("/api/v1/security-events", {"limit": limit})
        return list(answer["events"])
