"""Helpers for the access-key API tests."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import httpx
from sqlalchemy import event, select

from strongroom.store.models import AuditRecord
from tests.api.conftest import App

T = TypeVar("T")
BASE = "/api/v1/access-keys"


async def issue(app: App, roles: list[str], key: str | None = None, **body: Any) -> dict[str, Any]:
    r = await app.post(BASE, {"roles": roles, **body}, key=key)
    assert r.status_code == 201, r.text
    return dict(r.json())


async def call(app: App, key: str, method: str = "GET", path: str = BASE, **kw: Any) -> Any:
    headers = {"X-API-Key": key, **kw.pop("headers", {})}
    return await app.client.request(method, path, headers=headers, **kw)


async def works(app: App, key: str) -> bool:
    """Does ``key`` authenticate? (Any answer but 401.)"""
    r = await app.client.get("/api/v1/keys/nobody", headers={"X-API-Key": key})
    return r.status_code != 401


async def poll(fn: Callable[[], Awaitable[T]], until: Callable[[T], bool], seconds: float) -> T:
    """Call ``fn`` until ``until(result)`` or ``seconds`` pass; returns the last result."""
    deadline = time.monotonic() + seconds
    result = await fn()
    while not until(result) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
        result = await fn()
    return result


async def audit_rows(app: App, action_prefix: str = "") -> list[AuditRecord]:
    await app.services.alerts.drain()
    async with app.services.db.read() as s:
        q = select(AuditRecord).order_by(AuditRecord.id)
        rows = list((await s.execute(q)).scalars())
    return [r for r in rows if r.action.startswith(action_prefix)]


@contextmanager
def statements(app: App) -> Iterator[list[str]]:
    """Every SQL statement the app's engine runs inside the block."""
    seen: list[str] = []

    def hook(_conn: Any, _cursor: Any, sql: str, *_: Any) -> None:
        seen.append(sql)

    engine = app.services.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", hook)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", hook)


def error_code(r: httpx.Response) -> str:
    return str(r.json()["error"]["code"])
