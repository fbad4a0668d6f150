"""A response held at the edge until its audit records are durable (audit/release.py,
api/middleware.py ``_Outbox``): nothing goes out before, an error goes out instead
of the response when a record failed, and without a gate the caller waits itself."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from strongroom.api.middleware import _Outbox
from strongroom.audit.release import hold, release_gate, settled
from strongroom.errors import AuditUnavailable

START = {"type": "http.response.start", "status": 200, "headers": []}
BODY = {"type": "http.response.body", "body": b'{"decryptedData":["secret"]}'}


async def test_without_a_gate_nothing_is_held() -> None:
    fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    assert hold(fut) is False


async def test_gate_collects_and_settles() -> None:
    loop = asyncio.get_running_loop()
    with release_gate() as held:
        ok, bad = loop.create_future(), loop.create_future()
        assert hold(ok) and hold(bad)
    assert held == [ok, bad]
    assert hold(loop.create_future()) is False  # the gate closed with its scope
    ok.set_result(None)
    bad.set_exception(AuditUnavailable())
    assert isinstance(await settled(held), AuditUnavailable)
    assert held == []


async def test_response_waits_for_its_record() -> None:
    sent: list[dict[str, Any]] = []

    async def send(message: Any) -> None:
        sent.append(message)

    out = _Outbox(send, "rid-1")
    fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    out.held = [fut]
    await out.send(START)
    await out.send(BODY)
    assert sent == [] and not out.started
    fut.set_result(None)
    assert await out.release() is None
    assert sent == [START, BODY] and out.started


async def test_failed_record_replaces_the_response() -> None:
    sent: list[dict[str, Any]] = []

    async def send(message: Any) -> None:
        sent.append(message)

    out = _Outbox(send, "rid-2")
    fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    out.held = [fut]
    await out.send(START)
    await out.send(BODY)
    fut.set_exception(AuditUnavailable())
    assert isinstance(await out.release(), AuditUnavailable)
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]
    assert sent[0]["status"] == 503
    body = json.loads(sent[1]["body"])
    assert body["error"]["code"] == "SYS001" and body["requestId"] == "rid-2"
    assert b"secret" not in sent[1]["body"]
    await out.send({"type": "http.response.body", "body": b"late"})  # dropped
    assert len(sent) == 2


async def test_streaming_body_waits_at_its_first_chunk() -> None:
    sent: list[dict[str, Any]] = []

    async def send(message: Any) -> None:
        sent.append(message)

    out = _Outbox(send, "rid-3")
    fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    out.held = [fut]
    await out.send(START)
    chunk = {"type": "http.response.body", "body": b"a", "more_body": True}
    loop = asyncio.get_running_loop()
    loop.call_later(0.01, fut.set_result, None)
    await out.send(chunk)  # waits for the record, then sends
    assert sent == [START, chunk]
    await out.send(BODY)
    assert sent == [START, chunk, BODY]
