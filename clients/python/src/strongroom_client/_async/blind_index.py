"""Blind index tokens for equality search over encrypted fields (docs/blind-index.md):
store ``token`` beside the ciphertext, search by the token of the value sought."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from strongroom_client._async.resource import AsyncResource
from strongroom_client._core import Request

NORMALISATIONS = ("case", "whitespace", "digits")


class AsyncBlindIndex(AsyncResource):
    async def tokens(
        self,
        field: str,
        values: Sequence[str],
        user_id: str | None = None,
        normalize: Sequence[str] = (),
        length: int = 32,
    ) -> list[str]:
        """One token per value, in order. ``user_id``: a per-user index (None: one
        index for the tenant); ``normalize``: any of ``case``, ``whitespace``,
        ``digits``; ``length``: bytes kept (4-32; fewer trade false positives for
        less leakage). Equal inputs give equal tokens only with equal options."""

        async def send(chunk: list[str]) -> list[str]:
            body: dict[str, Any] = {"field": field, "data": chunk, "length": length}
            if user_id is not None:
                body["userId"] = user_id
            if normalize:
                body["normalize"] = list(normalize)
            req = Request("POST", "/api/v1/blind-index", json=body, idempotent=True)
            return list((await self._t.call(req))["tokens"])

        return await self._batched(values, send)
