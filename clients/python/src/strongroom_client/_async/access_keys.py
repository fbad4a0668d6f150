"""Access keys (``X-API-Key``): create, list, show, rotate, revoke. A new key's secret
is a ``Secret`` (masked in ``repr``)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any

from strongroom_client._async.resource import AsyncResource
from strongroom_client._core import Request
from strongroom_client._secret import Secret

_ONE = "/api/v1/access-keys/{keyId}"


def _issued(answer: dict[str, Any]) -> dict[str, Any]:
    if isinstance(answer.get("key"), str):
        answer["key"] = Secret(answer["key"])
    return answer


class AsyncAccessKeys(AsyncResource):
    async def create(
        self,
        roles: Sequence[str],
        description: str | None = None,
        tenant: str | None = None,
        expires_at: datetime | None = None,
    ) -> dict[str, Any]:
        """A new access key: metadata plus ``key``, shown only here."""
        body: dict[str, Any] = {"roles": list(roles)}
        if description is not None:
            body["description"] = description
        if tenant is not None:
            body["tenant"] = tenant
        if expires_at is not None:
            body["expiresAt"] = expires_at.isoformat()
        return _issued(await self._t.call(Request("POST", "/api/v1/access-keys", json=body)))

    async def list(
        self, tenant: str | None = None, limit: int | None = None, cursor: str | None = None
    ) -> dict[str, Any]:
        """One page: ``{"accessKeys": [...], "nextCursor"}``."""
        params = {"tenant": tenant, "limit": limit, "cursor": cursor}
        req = Request("GET", "/api/v1/access-keys", params=params, idempotent=True)
        answer: dict[str, Any] = await self._t.call(req)
        return answer

    async def iter_all(
        self, tenant: str | None = None, page_size: int = 100
    ) -> AsyncIterator[dict[str, Any]]:
        """Every access key's metadata, following ``nextCursor``."""
        cursor = None
        while True:
            page = await self.list(tenant, page_size, cursor)
            for key in page["accessKeys"]:
                yield key
            cursor = page.get("nextCursor")
            if not cursor:
                return

    async def get(self, key_id: str) -> dict[str, Any]:
        answer: dict[str, Any] = await self._t.call(
            Request("GET", _ONE, {"keyId": key_id}, idempotent=True)
        )
        return answer

    async def rotate(self, key_id: str, grace_seconds: int | None = None) -> dict[str, Any]:
        """A new secret for the same id; the old one works for ``grace_seconds``."""
        body = None if grace_seconds is None else {"graceSeconds": grace_seconds}
        req = Request("POST", _ONE + "/rotate", {"keyId": key_id}, json=body)
        return _issued(await self._t.call(req))

    async def revoke(self, key_id: str) -> dict[str, Any]:
        req = Request("POST", _ONE + "/revoke", {"keyId": key_id}, idempotent=True)
        answer: dict[str, Any] = await self._t.call(req)
        return answer
