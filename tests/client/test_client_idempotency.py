"""The client's writes carry an ``Idempotency-Key`` and are retried after a lost answer
without being done twice, against the real service (uvicorn on 127.0.0.1): a transport
that forwards the first request to the service and then drops its answer, as a broken
connection would."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import func, select

from strongroom.store.models import AuditRecord
from strongroom_client import AsyncClient, Client, RetryPolicy
from tests.client.conftest import ThreadServer

RETRY = RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.02)


def user() -> str:
    return f"i-{uuid.uuid4().hex[:12]}"


def creations(service: ThreadServer) -> int:
    async def count() -> int:
        async with service.services.db.read() as s:
            q = select(func.count()).where(AuditRecord.action == "key.create")
            return int((await s.execute(q)).scalar_one())

    return service.run(count())


class DropsFirstAnswer(httpx.HTTPTransport):
    """Sends every request; the first one's answer is lost on the way back."""

    def __init__(self) -> None:
        super().__init__()
        self.keys: list[str | None] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.keys.append(request.headers.get("idempotency-key"))
        response = super().handle_request(request)
        if len(self.keys) == 1:
            response.read()
            raise httpx.ReadError("connection reset by peer", request=request)
        return response


class AsyncDropsFirstAnswer(httpx.AsyncHTTPTransport):
    def __init__(self) -> None:
        super().__init__()
        self.keys: list[str | None] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.keys.append(request.headers.get("idempotency-key"))
        response = await super().handle_async_request(request)
        if len(self.keys) == 1:
            await response.aread()
            raise httpx.ReadError("connection reset by peer", request=request)
        return response


def test_a_create_whose_answer_was_lost_is_retried_once(
    service: ThreadServer, admin_key: str
) -> None:
    drops = DropsFirstAnswer()
    before = creations(service)
    with Client(service.addr, api_key=admin_key, retry=RETRY, transport=drops, env={}) as c:
        alice = user()
        made: Any = c.keys.create(alice)
        assert made["userId"] == alice
        assert len(drops.keys) == 2 and drops.keys[0] and drops.keys[0] == drops.keys[1]
        assert creations(service) == before + 1  # done once; the retry got its answer
        # The next write is another key.
        c.keys.create(user())
        assert len(drops.keys) == 3 and drops.keys[2] not in drops.keys[:2]
        # Reads carry none.
        c.keys.get(alice)
        assert drops.keys[3] is None


async def test_the_async_client_too(service: ThreadServer, admin_key: str) -> None:
    drops = AsyncDropsFirstAnswer()
    before = creations(service)
    async with AsyncClient(
        service.addr, api_key=admin_key, retry=RETRY, transport=drops, env={}
    ) as c:
        issued: Any = await c.access_keys.create(["auditor"])
        assert issued["key"]
        assert len(drops.keys) == 2 and drops.keys[0] == drops.keys[1]
    assert creations(service) == before  # access keys are another action


def test_without_retries_the_service_still_refuses_twice(
    service: ThreadServer, admin_key: str
) -> None:
    """The same key sent for another body is refused (IDEM002), never run."""
    key = str(uuid.uuid4())
    headers = {"X-API-Key": admin_key, "Idempotency-Key": key}
    with httpx.Client(base_url=service.addr, headers=headers) as http:
        first = http.post("/api/v1/keys", json={"userId": user()})
        again = http.post("/api/v1/keys", json={"userId": user()})
    assert first.status_code == 201
    assert again.status_code == 422 and again.json()["error"]["code"] == "IDEM002"
