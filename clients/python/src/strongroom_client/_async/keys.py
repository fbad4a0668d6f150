"""Per-user keys: create, metadata, public key (with its signed statement), history,
policy, scheduled deletion; and the service's own public keys."""

from __future__ import annotations

from typing import Any

from strongroom_client._async.transport import AsyncTransport
from strongroom_client._cache import StatementCache
from strongroom_client._core import Request

_KEY = "/api/v1/keys/{userId}"


class AsyncKeys:
    def __init__(self, transport: AsyncTransport, cache: StatementCache) -> None:
        self._t = transport
        self._cache = cache

    def _seen(self, meta: dict[str, Any]) -> dict[str, Any]:
        version = meta.get("currentVersion")
        if isinstance(version, int):
            self._cache.note_version(str(meta.get("userId")), version)
        return meta

    async def create(
        self, user_id: str, key_type: str | None = None, rotation_period_days: int | None = None
    ) -> dict[str, Any]:
        """Create ``user_id``'s key (``POST /api/v1/keys``); returns its metadata.
        ``key_type``: ``x25519-hpke`` (default), ``p256-hpke``, ``mlkem768-x25519-hpke``
        or ``aes256-gcm``."""
        body: dict[str, Any] = {"userId": user_id}
        if key_type is not None:
            body["keyType"] = key_type
        if rotation_period_days is not None:
            body["rotationPeriodDays"] = rotation_period_days
        return self._seen(await self._t.call(Request("POST", "/api/v1/keys", json=body)))

    async def get(self, user_id: str) -> dict[str, Any]:
        """Metadata: type, state, versions, current and minimum decryption version."""
        req = Request("GET", _KEY, {"userId": user_id}, idempotent=True)
        return self._seen(await self._t.call(req))

    async def public_key(self, user_id: str) -> dict[str, Any]:
        """The answer of ``GET /api/v1/keys/{userId}/public`` as sent, unverified; use
        ``offline.statement`` for a verified key."""
        req = Request("GET", _KEY + "/public", {"userId": user_id}, idempotent=True)
        answer: dict[str, Any] = await self._t.call(req)
        return answer

    async def history(self, user_id: str) -> list[dict[str, Any]]:
        """Every creation, rotation (with its reason) and deletion event."""
        req = Request("GET", _KEY + "/history", {"userId": user_id}, idempotent=True)
        answer = await self._t.call(req)
        return list(answer["history"])

    async def update_policy(
        self,
        user_id: str,
        min_decryption_version: int | None = None,
        rotation_period_days: int | None = None,
    ) -> dict[str, Any]:
        """Raise ``minDecryptionVersion`` and/or change the rotation period."""
        body: dict[str, Any] = {}
        if min_decryption_version is not None:
            body["minDecryptionVersion"] = min_decryption_version
        if rotation_period_days is not None:
            body["rotationPeriodDays"] = rotation_period_days
        req = Request("PATCH", _KEY + "/policy", {"userId": user_id}, json=body, idempotent=True)
        return self._seen(await self._t.call(req))

    async def schedule_deletion(
        self, user_id: str, waiting_period_days: float | None = None
    ) -> dict[str, Any]:
        """Disable the key now and destroy it after the waiting period (crypto-shredding)."""
        body = None if waiting_period_days is None else {"waitingPeriodDays": waiting_period_days}
        self._cache.drop(user_id)
        req = Request("POST", _KEY + "/deletion", {"userId": user_id}, json=body, idempotent=True)
        answer: dict[str, Any] = await self._t.call(req)
        return answer

    async def cancel_deletion(self, user_id: str) -> dict[str, Any]:
        """Cancel a scheduled deletion during its waiting period."""
        req = Request("DELETE", _KEY + "/deletion", {"userId": user_id}, idempotent=True)
        return self._seen(await self._t.call(req))

    async def service_keys(self) -> dict[str, Any]:
        """``GET /api/v1/service-keys``: the key that signs key statements. Pin it from a
        channel you trust, not from the connection it is meant to protect."""
        answer: dict[str, Any] = await self._t.call(
            Request("GET", "/api/v1/service-keys", idempotent=True)
        )
        return answer
