"""Sends requests with retries (``_core.delay``): one ``httpx`` client per transport."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from strongroom_client._config import Config
from strongroom_client._core import (
    Request,
    delay,
    http_options,
    log_attempt,
    log_retry,
    result,
    transport_error,
)
from strongroom_client.errors import StrongroomError


class AsyncTransport:
    def __init__(self, config: Config, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.config = config
        # Learnt from a 413 answer's ``details.limit`` (keys.max_items_per_batch).
        self.batch_size = config.batch_size
        self.http = httpx.AsyncClient(transport=transport, **http_options(config))

    async def call(self, request: Request) -> Any:
        # One Idempotency-Key per call (a POST or PATCH), kept across its retries.
        attempt, content, request = 0, request.body(), request.keyed()
        while True:
            error: StrongroomError
            try:
                response = await self.http.request(
                    request.method,
                    request.url(),
                    content=content,
                    params=request.query(),
                    headers=request.headers(),
                )
                log_attempt(request, response.status_code, attempt)
                return result(request, response)
            except httpx.HTTPError as exc:
                log_attempt(request, type(exc).__name__, attempt)
                error = transport_error(exc)
                error.__cause__ = exc
            except StrongroomError as exc:
                error = exc
            wait = delay(self.config.retry, attempt, error, request)
            if wait is None:
                raise error
            log_retry(request, error, wait)
            request = request.after(error)
            await asyncio.sleep(wait)
            attempt += 1

    async def close(self) -> None:
        await self.http.aclose()
