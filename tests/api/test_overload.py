"""Past its bound of in-flight and queued requests a worker sheds at once: 503 SYS002
with Retry-After, counted in a metric, no audit record, no authentication attempted;
health, readiness and metrics still answer (issue #14, item 3)."""

from __future__ import annotations

import asyncio
import json

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import func, select
from starlette.types import Message

from strongroom.store.models import AuditRecord
from tests.api.conftest import App
from tests.api.routes import asgi_app, encrypt_scope

ONE_SLOT = {"max_in_flight": 1, "max_queue": 0}


def _shed(reason: str) -> float:
    return REGISTRY.get_sample_value("strongroom_http_shed_total", {"reason": reason}) or 0.0


async def _audit_count(app: App) -> int:
    async with app.services.db.read() as s:
        return int((await s.execute(select(func.count()).select_from(AuditRecord))).scalar_one())


class Held:
    """An encrypt request admitted and then held: its body has not arrived yet."""

    def __init__(self, app: App) -> None:
        self.arrive = asyncio.Event()
        self.messages: list[Message] = []
        self._app, self._body = app, json.dumps({"userId": "held", "data": ["x"]}).encode()

    async def receive(self) -> Message:
        await self.arrive.wait()
        return {"type": "http.request", "body": self._body, "more_body": False}

    async def send(self, message: Message) -> None:
        self.messages.append(message)

    def start(self) -> asyncio.Task[None]:
        scope = encrypt_scope(self._app.admin_key, ("203.0.113.7", 4243))
        return asyncio.create_task(asgi_app(self._app)(scope, self.receive, self.send))

    @classmethod
    async def one(cls, app: App) -> tuple[Held, asyncio.Task[None]]:
        """One admitted request, held in its slot."""
        await app.create_key("held")
        held = cls(app)
        task = held.start()
        for _ in range(20):
            await asyncio.sleep(0)
        assert not task.done(), held.messages
        return held, task

    @property
    def status(self) -> int:
        return int(next(m["status"] for m in self.messages if m["type"] == "http.response.start"))


@pytest.mark.parametrize("settings_overrides", [ONE_SLOT])
async def test_past_the_bound_requests_are_shed_at_once(app: App) -> None:
    held, task = await Held.one(app)
    before = _shed("queue_full")
    shed = await app.post("/api/v1/encrypt", {"userId": "held", "data": ["canary-3f9e1b"]})
    assert shed.status_code == 503
    assert shed.json()["error"]["code"] == "SYS002"
    assert shed.headers["retry-after"] == "1"
    assert "canary" not in shed.text
    assert _shed("queue_full") == before + 1
    # A caller with no credentials at all is shed the same: no work before admission.
    anonymous = await app.client.post("/api/v1/encrypt", json={"userId": "held", "data": ["z"]})
    assert anonymous.status_code == 503
    # Health, readiness and metrics are never held back.
    assert (await app.client.get("/healthz")).status_code == 200
    assert (await app.client.get("/readyz")).status_code == 200
    assert (await app.get("/metrics")).status_code == 200
    held.arrive.set()
    await task
    assert held.status == 200  # the admitted request was served in full
    ok = await app.post("/api/v1/encrypt", {"userId": "held", "data": ["w"]})
    assert ok.status_code == 200  # its slot was given back


@pytest.mark.parametrize("settings_overrides", [ONE_SLOT])
async def test_a_shed_request_leaves_no_audit_record(app: App) -> None:
    held, task = await Held.one(app)
    records = await _audit_count(app)
    bad_key = {"X-API-Key": "srk_live_bad"}
    for _ in range(5):
        decrypt = await app.post("/api/v1/decrypt", {"userId": "held", "data": ["sr:v1:x"]})
        assert decrypt.status_code == 503
        forged = await app.client.post("/api/v1/encrypt", headers=bad_key)
        assert forged.status_code == 503
    assert await _audit_count(app) == records
    held.arrive.set()
    await task
