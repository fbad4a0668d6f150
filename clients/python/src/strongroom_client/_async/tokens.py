"""Bearer-token revocation by ``jti``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from strongroom_client._async.resource import AsyncResource
from strongroom_client._core import Request


class AsyncTokens(AsyncResource):
    async def revoke(
        self, issuer: str, jti: str, expires_at: datetime | None = None
    ) -> dict[str, Any]:
        """Revoke a token; ``alreadyRevoked`` says whether it was already."""
        body: dict[str, Any] = {"issuer": issuer, "jti": jti}
        if expires_at is not None:
            body["expiresAt"] = expires_at.isoformat()
        req = Request("POST", "/api/v1/tokens/revoked", json=body, idempotent=True)
        answer: dict[str, Any] = await self._t.call(req)
        return answer
