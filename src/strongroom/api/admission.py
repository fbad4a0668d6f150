"""Admission control: bounded in-flight work per worker, shed fast past the bound.

Without it, every accepted request starts at once: under overload hundreds interleave
on one event loop, each one's latency grows with all the others', the change feed and
cache refreshes starve, and the service stays slow after the load is gone (a
metastable failure). Here at most ``max_in_flight`` requests run at a time; the next
``max_queue`` wait in arrival order (FIFO) and anything beyond that is answered at
once with 503 ``SYS002`` and ``Retry-After``, as is a request that waited longer than
``max_queue_wait`` (its client has likely given up). A shed request costs a few
microseconds, writes no audit record (a metric counts it: one record per shed request
would itself be the overload) and never reaches authentication.

Health, readiness and metrics bypass the bound: an orchestrator must still see the
process alive and an operator its figures while it sheds.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque

from starlette.types import ASGIApp, Receive, Scope, Send

from strongroom.errors import Overloaded
from strongroom.observability.metrics import ADMISSION_SHED

EXEMPT = frozenset({"/healthz", "/readyz", "/livez", "/metrics"})


def _mcp_listen(scope: Scope) -> bool:
    """A 2025-11-25 MCP session's GET stream (mcp/http.py) stays open, idle, for the
    session's life: counted as in flight it would hold a slot per connected agent and
    starve everything else. Its tool calls are POSTs and admitted as usual."""
    return bool(scope["method"] == "GET" and scope["path"] == "/mcp")


class Admission:
    """FIFO admission with a bounded queue: a freed slot goes to the oldest waiter
    still waiting (timed-out and cancelled waiters are skipped)."""

    def __init__(self, max_in_flight: int, max_queue: int, max_queue_wait: float) -> None:
        self.limit, self.max_queue, self.max_wait = max_in_flight, max_queue, max_queue_wait
        self.running = 0
        self.queued = 0  # live waiters (the deque may still hold abandoned ones)
        self._waiters: deque[asyncio.Future[None]] = deque()

    async def enter(self) -> str | None:
        """Take a slot; the shed reason instead when there is none to be had."""
        if self.running < self.limit and not self.queued:
            self.running += 1
            return None
        if self.queued >= self.max_queue:
            return "queue_full"
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(fut)
        self.queued += 1
        try:
            await asyncio.wait_for(asyncio.shield(fut), self.max_wait)
        except TimeoutError:
            if fut.done():
                return None  # handed a slot just as the wait ran out: keep it
            self._abandon(fut)
            return "queue_timeout"
        except asyncio.CancelledError:
            if fut.done():
                self.leave()  # handed a slot that nobody will use now
            else:
                self._abandon(fut)
            raise
        return None  # ``leave`` passed its slot on: ``running`` already counts it

    def _abandon(self, fut: asyncio.Future[None]) -> None:
        fut.cancel()
        self.queued -= 1

    def leave(self) -> None:
        while self._waiters:
            fut = self._waiters.popleft()
            if not fut.done():
                self.queued -= 1
                fut.set_result(None)  # the slot moves to the oldest live waiter
                return
        self.running -= 1


class AdmissionMiddleware:
    """Outermost HTTP layer: ``Admission`` around everything but health and metrics."""

    def __init__(
        self,
        app: ASGIApp,
        max_in_flight: int,
        max_queue: int,
        max_queue_wait: float,
        retry_after: int = 1,
    ) -> None:
        self.app = app
        self.admission = Admission(max_in_flight, max_queue, max_queue_wait)
        self._retry_after = str(retry_after).encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in EXEMPT or _mcp_listen(scope):
            await self.app(scope, receive, send)
            return
        adm = self.admission
        reason = await adm.enter()
        if reason is not None:
            ADMISSION_SHED.labels(reason).inc()
            await self._shed(send)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            adm.leave()

    async def _shed(self, send: Send) -> None:
        err = Overloaded()
        body = {"success": False, "error": {"code": err.code, "message": err.text}}
        headers = [
            (b"content-type", b"application/json"),
            (b"retry-after", self._retry_after),
            (b"cache-control", b"no-store"),
            (b"x-content-type-options", b"nosniff"),
        ]
        await send({"type": "http.response.start", "status": err.status, "headers": headers})
        await send({"type": "http.response.body", "body": json.dumps(body).encode()})
