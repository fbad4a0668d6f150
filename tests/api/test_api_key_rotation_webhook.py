"""Rotation by webhook hook against a local server on 127.0.0.1 (it gets the key's
names, never a value, and answers ``{"value": ...}``); each way a webhook can fail
leaves the current value serving. And rotation under load: callers resolving the key
the whole time never fail."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest

from strongroom.context import Actor
from tests.api.api_key_helpers import code, keys_url, project, req, stored
from tests.api.conftest import App
from tests.webhooks import serving

OLD = "sk-webhook-old-0001"


class Minter:
    """POST /ok mints a value; /garbage, /error and /slow fail in their own ways."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.bodies.append(body)
                if self.path == "/slow":
                    time.sleep(2)
                status, answer = {
                    "/ok": (200, {"value": f"sk-minted-{len(outer.bodies)}"}),
                    "/garbage": (200, {"nope": 1}),
                    "/error": (500, {"error": "upstream down"}),
                }.get(self.path, (200, {"value": "late"}))
                raw = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, *_: Any) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture
def minter() -> Iterator[Minter]:
    yield from serving(Minter())  # type: ignore[type-var]


@pytest.fixture
def settings_overrides(minter: Minter) -> dict[str, Any]:
    hooks = {
        name: {"url": f"{minter.url}/{name}", "timeout_seconds": 0.5}
        for name in ("ok", "garbage", "error", "slow")
    }
    return {"api_keys_rotation_hooks": hooks, "api_keys_previous_overlap_seconds": 600}


async def _key(app: App, hook: str) -> str:
    await project(app, "p")
    await stored(app, "p", "k", OLD, provider="acme", rotationHook=hook)
    return keys_url("p", "k")


async def _current(app: App) -> bytes:
    t = await app.services.api_key_use.for_use(Actor("t", "default", "r", None), "p", "k")
    return t.value


async def test_the_webhook_mints_the_value(app: App, minter: Minter) -> None:
    url = await _key(app, "ok")
    r = await req(app, "POST", url + "/rotate", json={"hook": True})
    assert r.status_code == 200, r.text
    assert await _current(app) == b"sk-minted-1"
    assert minter.bodies == [{"project": "p", "key": "k", "provider": "acme"}]


@pytest.mark.parametrize(
    ("hook", "step"), [("garbage", "output"), ("error", "http"), ("slow", "timeout")]
)
async def test_a_failing_webhook_leaves_the_current_value(app: App, hook: str, step: str) -> None:
    url = await _key(app, hook)
    r = await req(app, "POST", url + "/rotate", json={"hook": True})
    assert r.status_code == 502 and code(r) == "APK010", r.text
    assert r.json()["error"]["details"]["step"] == step
    assert await _current(app) == OLD.encode()


async def test_rotation_under_load_never_fails_a_caller(app: App) -> None:
    url = await _key(app, "ok")
    actor = Actor("caller", "default", "r", None)
    seen: set[bytes] = set()
    failures: list[str] = []
    stop = asyncio.Event()

    async def caller() -> int:
        n = 0
        while not stop.is_set():
            try:
                t = await app.services.api_key_use.for_use(actor, "p", "k")
                seen.add(t.value)
                n += 1
            except Exception as exc:  # any refusal is a failed call
                failures.append(type(exc).__name__)
            await asyncio.sleep(0)
        return n

    tasks = [asyncio.create_task(caller()) for _ in range(16)]
    for i in range(5):
        r = await req(app, "POST", url + "/rotate", json={"value": f"sk-load-{i}-value"})
        assert r.status_code == 200, r.text
        await asyncio.sleep(0.3)  # past the state cache: every caller sees the new value
    stop.set()
    calls = sum(await asyncio.gather(*tasks))
    assert failures == [] and calls > 100, (failures[:5], calls)
    assert {f"sk-load-{i}-value".encode() for i in range(5)} <= seen
