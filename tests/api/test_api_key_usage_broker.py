"""Usage counted from real broker calls (issue #17 acceptance): a stored key created
through the API, calls through the broker to a local upstream on 127.0.0.1, and the
usage route answers exactly the calls made — per status class, kind and caller — with
at most 2 database writes per 1,000 calls for the counting."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event

from strongroom.store.db import Database
from tests.api.api_key_helpers import project, stored
from tests.api.conftest import App
from tests.broker_support import StubDns, Upstream

VALUE = "sk-live-USAGE-broker-5e1d"
USAGE = "/api/v1/projects/billing/api-keys/stripe/usage"


@pytest.fixture
async def upstream() -> AsyncIterator[Upstream]:
    up = await Upstream().start()
    yield up
    await up.stop()


@contextmanager
def usage_writes(db: Database) -> Iterator[list[str]]:
    """INSERT/UPDATE/DELETE statements on the usage tables inside the block."""
    seen: list[str] = []

    def count(_c: Any, _cur: Any, statement: str, *_: Any) -> None:
        head = statement.lstrip()[:80].upper()
        if head.startswith(("INSERT", "UPDATE", "DELETE")) and "API_KEY_USAGE" in head:
            seen.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", count)


async def test_broker_calls_are_counted_exactly(app: App, upstream: Upstream) -> None:
    await project(app, "billing")
    await stored(
        app,
        "billing",
        "stripe",
        VALUE,
        hosts=["api.test"],
        allowedNetworks=["127.0.0.1/32"],
    )
    app.services.broker.resolver = StubDns({"api.test": ["127.0.0.1"]})
    base = f"/api/v1/broker/billing/stripe/http/api.test:{upstream.port}"
    made: dict[str, int] = {"2xx": 0, "4xx": 0, "5xx": 0, "denied": 0}
    with usage_writes(app.services.db) as writes:
        for i in range(60):
            path, cls = [("/echo", "2xx"), ("/status/404", "4xx"), ("/status/503", "5xx")][i % 3]
            r = await app.client.get(base + path, headers=app.headers)
            assert r.status_code in (200, 404, 503), r.text
            made[cls] += 1
        for _ in range(4):  # refused before it left: a host the key is not for
            r = await app.post(
                "/api/v1/broker/billing/stripe/request",
                {"method": "GET", "url": "https://elsewhere.example/x"},
            )
            assert r.status_code == 403, r.text
            made["denied"] += 1
        assert writes == []  # no write on the call path
        got = await app.client.get(USAGE, params={"granularity": "day"}, headers=app.headers)
        await app.services.usage.flush()
        flushed = len(writes)
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["total"] == sum(made.values()) == 64
    assert body["byStatusClass"] == {k: v for k, v in made.items() if v}
    assert body["byKind"] == {"broker": 60, "denied": 4}
    assert {h["name"]: h["count"] for h in body["byHost"]} == {
        "api.test": 60,
        "elsewhere.example": 4,
    }
    assert [c["count"] for c in body["byCaller"]] == [64]
    assert body["lastUsed"]["source"] == "203.0.113.7"
    assert flushed <= 2  # one flush: two statements for 64 calls
    again = await app.client.get(USAGE, params={"granularity": "day"}, headers=app.headers)
    assert again.json()["total"] == 64  # the same once written
    assert VALUE not in got.text
