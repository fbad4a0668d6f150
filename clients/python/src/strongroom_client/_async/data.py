"""The data endpoints: encrypt, decrypt, rotate, rewrap; batches are split under the
server's batch limit. Decrypted values are ``Secret`` strings (masked in ``repr``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from strongroom_client._async.resource import AsyncResource
from strongroom_client._async.transport import AsyncTransport
from strongroom_client._cache import StatementCache
from strongroom_client._core import Request
from strongroom_client._secret import Secret
from strongroom_client.errors import ERRORS, ApiError

ROTATION_REASONS = ("on-demand", "compliance", "compromise")


@dataclass(frozen=True)
class ItemResult:
    """One item of a ``partial=True`` answer: its value or its error."""

    value: str | None
    error: ApiError | None


@dataclass(frozen=True)
class Rewrapped:
    items: list[str]
    version: int


@dataclass(frozen=True)
class Rotated:
    data: list[Any]
    version: int


def _item(result: dict[str, Any], field: str, offset: int) -> ItemResult:
    err = result.get("error")
    if not err:
        value = result.get(field)
        return ItemResult(None if value is None else Secret(value), None)
    cls = ERRORS.get(str(err.get("code")), ApiError)
    details = {"index": int(err.get("index", 0)) + offset}
    return ItemResult(
        None, cls(str(err.get("message", "")), code=str(err.get("code")), details=details)
    )


class AsyncData(AsyncResource):
    def __init__(self, transport: AsyncTransport, cache: StatementCache) -> None:
        super().__init__(transport)
        self._cache = cache

    def _body(self, user_id: str, items: Sequence[Any], context: str | None) -> dict[str, Any]:
        body: dict[str, Any] = {"userId": user_id, "data": list(items)}
        if context is not None:
            body["context"] = context
        return body

    async def encrypt(
        self, user_id: str, items: Sequence[str], context: str | None = None
    ) -> list[str]:
        """Ciphertexts of ``items`` under the user's current key version, in order."""

        async def send(chunk: list[str]) -> list[str]:
            req = Request(
                "POST", "/api/v1/encrypt", json=self._body(user_id, chunk, context), idempotent=True
            )
            return list((await self._t.call(req))["encryptedData"])

        return await self._batched(items, send)

    async def decrypt(
        self, user_id: str, items: Sequence[str], context: str | None = None
    ) -> list[Secret]:
        """Plaintexts, all or nothing: one bad item raises ``InvalidInputError`` with
        ``details["index"]``."""

        async def send(chunk: list[str]) -> list[Secret]:
            req = Request(
                "POST", "/api/v1/decrypt", json=self._body(user_id, chunk, context), idempotent=True
            )
            return [Secret(v) for v in (await self._t.call(req))["decryptedData"]]

        return await self._batched(items, send)

    async def decrypt_each(
        self, user_id: str, items: Sequence[str], context: str | None = None
    ) -> list[ItemResult]:
        """Each item's plaintext or error (``partial: true``)."""
        offset = [0]

        async def send(chunk: list[str]) -> list[ItemResult]:
            body = {**self._body(user_id, chunk, context), "partial": True}
            answer = await self._t.call(
                Request("POST", "/api/v1/decrypt", json=body, idempotent=True)
            )
            out = [_item(r, "decryptedData", offset[0]) for r in answer["results"]]
            offset[0] += len(chunk)
            return out

        return await self._batched(items, send)

    async def rewrap(
        self, user_id: str, items: Sequence[str], context: str | None = None
    ) -> Rewrapped:
        """Re-encrypt under the current version without rotating."""
        versions: list[int] = []

        async def send(chunk: list[str]) -> list[str]:
            req = Request(
                "POST", "/api/v1/rewrap", json=self._body(user_id, chunk, context), idempotent=True
            )
            answer = await self._t.call(req)
            versions.append(int(answer["version"]))
            return list(answer["rewrappedData"])

        out = await self._batched(items, send)
        version = max(versions)
        self._cache.note_version(user_id, version)
        return Rewrapped(out, version)

    async def rewrap_each(
        self, user_id: str, items: Sequence[str], context: str | None = None
    ) -> list[ItemResult]:
        """Each item's new ciphertext or error (``partial: true``)."""
        offset = [0]

        async def send(chunk: list[str]) -> list[ItemResult]:
            body = {**self._body(user_id, chunk, context), "partial": True}
            req = Request("POST", "/api/v1/rewrap", json=body, idempotent=True)
            answer = await self._t.call(req)
            self._cache.note_version(user_id, int(answer["version"]))
            out = [_item(r, "rewrappedData", offset[0]) for r in answer["results"]]
            offset[0] += len(chunk)
            return out

        return await self._batched(items, send)

    async def rotate(
        self,
        user_id: str,
        data: Sequence[Any],
        reason: str = "on-demand",
        context: str | None = None,
    ) -> Rotated:
        """New key version; every ciphertext inside ``data`` re-encrypted, all or
        nothing. Never split (each call is one new version) and never retried after
        it may have reached the service. ``reason``: one of ``ROTATION_REASONS``."""
        body = {**self._body(user_id, data, context), "reason": reason}
        self._cache.drop(user_id)
        answer = await self._t.call(Request("POST", "/api/v1/rotate", json=body))
        return Rotated(list(answer["rotatedData"]), int(answer["version"]))
