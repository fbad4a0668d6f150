"""Roles: built-in and the tenant's custom roles."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from strongroom_client._async.resource import AsyncResource
from strongroom_client._core import Request

_ONE = "/api/v1/roles/{name}"


class AsyncRoles(AsyncResource):
    async def list(self) -> dict[str, Any]:
        answer: dict[str, Any] = await self._t.call(
            Request("GET", "/api/v1/roles", idempotent=True)
        )
        return answer

    async def get(self, name: str) -> dict[str, Any]:
        answer: dict[str, Any] = await self._t.call(
            Request("GET", _ONE, {"name": name}, idempotent=True)
        )
        return answer

    async def put(
        self, name: str, grants: Sequence[Mapping[str, str]], description: str | None = None
    ) -> dict[str, Any]:
        """Create or replace a custom role; ``grants``: ``{"permission", "scope"}``."""
        body: dict[str, Any] = {"grants": [dict(g) for g in grants]}
        if description is not None:
            body["description"] = description
        req = Request("PUT", _ONE, {"name": name}, json=body, idempotent=True)
        answer: dict[str, Any] = await self._t.call(req)
        return answer

    async def delete(self, name: str) -> None:
        await self._t.call(Request("DELETE", _ONE, {"name": name}, idempotent=True))
