"""Base of the resource modules: each holds the transport (and, where it learns key
versions, the statement cache)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from strongroom_client._async.transport import AsyncTransport
from strongroom_client.errors import PayloadTooLargeError, StrongroomError

T = TypeVar("T")
R = TypeVar("R")


class AsyncResource:
    def __init__(self, transport: AsyncTransport) -> None:
        self._t = transport

    async def _batched(
        self, items: Sequence[T], send: Callable[[list[T]], Awaitable[list[R]]]
    ) -> list[R]:
        """``send`` over chunks of at most the server's batch size, in order. A 413 for
        too many items lowers the size to the limit it names and sends again; an
        error naming an item gets that item's index in ``items``."""
        if not items:
            return await send([])
        out: list[R] = []
        start = 0
        while start < len(items):
            chunk = list(items[start : start + self._t.batch_size])
            try:
                out.extend(await send(chunk))
            except PayloadTooLargeError as exc:
                limit = exc.details.get("limit")
                if (
                    "index" in exc.details
                    or not isinstance(limit, int)
                    or not 0 < limit < len(chunk)
                ):
                    raise _shifted(exc, start) from None
                self._t.batch_size = limit
                continue
            except StrongroomError as exc:
                raise _shifted(exc, start) from None
            start += len(chunk)
        return out


def _shifted(exc: StrongroomError, start: int) -> StrongroomError:
    index = exc.details.get("index")
    if isinstance(index, int) and start:
        exc.details["index"] = index + start
    return exc
