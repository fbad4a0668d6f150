"""Holding a response until its audit record is durable, at the edge of the request.

A read-only crypto operation (encrypt, decrypt, re-encrypt) changes no stored state:
its only effect is the response. ``AuditLog.append_before_release`` therefore need
not suspend the whole handler stack while the record's group commits; inside a
``release_gate`` (the HTTP middleware opens one per request) it hands the record's
future to the gate and returns, and the edge sends the response only after every
held record is durable, or an error in its place if one could not be written. The
rule stays fail closed: nothing computed reaches the client unrecorded. Without a
gate (CLI, MCP, tests calling services) the call waits as ``append`` does.

Waiting at the edge costs one suspension of a shallow stack instead of the deep one
of the handler (bench/audit_overhead.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_GATE: ContextVar[list[asyncio.Future[None]] | None] = ContextVar(
    "strongroom_audit_gate", default=None
)


@contextmanager
def release_gate() -> Iterator[list[asyncio.Future[None]]]:
    """Collect the records this request's response waits for (see ``settled``)."""
    held: list[asyncio.Future[None]] = []
    token = _GATE.set(held)
    try:
        yield held
    finally:
        _GATE.reset(token)


def hold(fut: asyncio.Future[None]) -> bool:
    """Give ``fut`` to the open gate; False when there is none (the caller waits)."""
    held = _GATE.get()
    if held is None:
        return False
    held.append(fut)
    return True


async def settled(held: list[asyncio.Future[None]]) -> BaseException | None:
    """Wait for every held record; the first failure, or None when all are durable."""
    failure: BaseException | None = None
    for fut in held:  # usually one: cheaper than gather
        try:
            await fut
        except Exception as exc:
            failure = failure or exc
    held.clear()
    return failure
