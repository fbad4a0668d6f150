"""The broker over HTTP (api/routers/broker.py): JSON and forward-proxy modes against
a local upstream on 127.0.0.1, ``api-keys:use`` on the key, and the canary: the key's
value appears in no log, audit record, metric, error or response."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from strongroom.logging import quiet_parameter_tracers
from strongroom.store.models import AuditRecord
from strongroom_client import AsyncClient
from strongroom_client.errors import BrokerHostNotAllowedError
from tests.api.access_helpers import issue
from tests.api.conftest import App
from tests.api.routes import asgi_app
from tests.broker_support import StubDns, Upstream, Uses

KEY = b"sk-CANARY-broker-key-7c4e19a2b8"
OLD = b"sk-CANARY-previous-3f9d02"
FORMS = (KEY, OLD, base64.b64encode(KEY), KEY.hex().encode())


@pytest.fixture
async def upstream() -> AsyncIterator[Upstream]:
    up = await Upstream().start()
    yield up
    await up.stop()


@pytest.fixture
async def wired(app: App) -> tuple[Uses, StubDns]:
    """A real stored key (projects and keys API): created with ``OLD``, rotated to
    ``KEY``, so both slots are filled; DNS is a stub (``api.test`` -> 127.0.0.1)."""
    r = await app.post("/api/v1/projects", {"name": "proj"})
    assert r.status_code == 201, r.text
    body = {
        "name": "openai",
        "value": OLD.decode(),
        "provider": "openai",
        "hosts": ["api.test"],
        "allowedNetworks": ["127.0.0.0/8"],
        "injection": {"kind": "header", "name": "Authorization", "template": "Bearer {key}"},
    }
    r = await app.post("/api/v1/projects/proj/api-keys", body)
    assert r.status_code == 201, r.text
    r = await app.post("/api/v1/projects/proj/api-keys/openai/rotate", {"value": KEY.decode()})
    assert r.status_code == 200, r.text
    uses, dns = Uses(), StubDns({"api.test": ["127.0.0.1"], "meta.test": ["169.254.169.254"]})
    broker = app.services.broker
    broker.resolver = dns
    return uses, dns


async def _json(app: App, body: dict[str, Any], key: str | None = None, k: str = "openai") -> Any:
    return await app.post(f"/api/v1/broker/proj/{k}/request", body, key)


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_json_mode(app: App, wired: Any, upstream: Upstream) -> None:
    url = f"http://api.test:{upstream.port}/echo?x=1"
    r = await _json(app, {"method": "POST", "url": url, "headers": {"X-A": "1"}, "body": "hi"})
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["status"] == 200 and out["bodyEncoding"] == "text"
    echoed = json.loads(out["body"])
    assert echoed["body"] == "hi" and echoed["target"] == "/echo?x=1"
    assert upstream.seen[0].header("Authorization") == f"Bearer {KEY.decode()}"
    assert upstream.seen[0].header("X-API-Key") is None
    b64 = base64.b64encode(b"\x00\x01").decode()
    r = await _json(app, {"method": "PUT", "url": url, "body": b64, "bodyEncoding": "base64"})
    assert r.status_code == 200 and upstream.seen[1].body == b"\x00\x01"
    r = await _json(app, {"method": "PUT", "url": url, "body": "!!", "bodyEncoding": "base64"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "BRK009"
    r = await _json(app, {"method": "GET", "url": "https://meta.test/latest/"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "BRK001"
    r = await _json(app, {"method": "GET", "url": url}, k="missing")
    assert r.status_code == 404
    # Every call that reached the broker is one use: 2 sent, 1 refused (BRK001); the
    # unreadable base64 body was refused by the route before.
    usage = (await app.get("/api/v1/projects/proj/api-keys/openai/usage")).json()
    assert usage["byKind"] == {"broker": 2, "denied": 1}, usage
    assert {h["name"]: h["count"] for h in usage["byHost"]}["api.test"] == 2


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_forward_proxy_mode(app: App, wired: Any, upstream: Upstream) -> None:
    base = f"/api/v1/broker/proj/openai/http/api.test:{upstream.port}"
    headers = {**app.headers, "X-Custom": "yes", "Content-Type": "text/plain"}
    r = await app.client.post(f"{base}/echo?q=a%2Fb&z=1", content=b"payload", headers=headers)
    assert r.status_code == 200, r.text
    echoed = r.json()
    assert echoed["method"] == "POST" and echoed["target"] == "/echo?q=a%2Fb&z=1"
    assert echoed["body"] == "payload"
    seen = upstream.seen[0]
    assert seen.header("X-Custom") == "yes" and seen.header("X-API-Key") is None
    assert seen.header("Authorization") == f"Bearer {KEY.decode()}"
    assert r.headers["x-echo"] == "Bearer [REDACTED]"
    # the upstream's own status comes back as is
    r = await app.client.get(f"{base}/status/418", headers=app.headers)
    assert r.status_code == 418 and r.text == "status"
    r = await app.client.delete(f"{base}/redirect?to=https://evil.example/", headers=app.headers)
    assert r.status_code == 502 and r.json()["error"]["code"] == "BRK008"


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_use_needs_api_keys_use_on_that_key(app: App, wired: Any, upstream: Upstream) -> None:
    made = await app.client.put(
        "/api/v1/roles/openai-user",
        json={"grants": [{"permission": "api-keys:use", "resource": "proj/openai"}]},
        headers=app.headers,
    )
    assert made.status_code == 201, made.text
    user = (await issue(app, ["openai-user"]))["key"]
    plain = (await issue(app, ["user"]))["key"]
    url = f"http://api.test:{upstream.port}/echo"
    assert (await _json(app, {"method": "GET", "url": url}, user)).status_code == 200
    r = await _json(app, {"method": "GET", "url": url}, user, k="other")
    assert r.status_code == 403 and r.json()["error"]["code"] == "AUTH002"
    assert (await _json(app, {"method": "GET", "url": url}, plain)).status_code == 403
    proxy = f"/api/v1/broker/proj/openai/http/api.test:{upstream.port}/echo"
    assert (await app.client.get(proxy)).status_code == 401
    assert (await app.client.get(proxy, headers={"X-API-Key": plain})).status_code == 403
    assert len(upstream.seen) == 1


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_key_value_appears_nowhere(
    app: App,
    wired: Any,
    upstream: Upstream,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    quiet_parameter_tracers(logging.DEBUG)  # as configure_logging("DEBUG") leaves them
    port = upstream.port
    seen: list[bytes] = []
    calls = [
        {"method": "GET", "url": f"http://api.test:{port}/echo"},
        {"method": "GET", "url": f"http://api.test:{port}/gzip-echo"},
        {"method": "POST", "url": f"http://api.test:{port}/echo", "body": "x"},
        {"method": "GET", "url": f"http://api.test:{port}/garbage"},
        {"method": "GET", "url": f"http://api.test:{port}/status/500"},
        {"method": "GET", "url": f"http://api.test:{port}/redirect?to=http://x.test/"},
        {"method": "GET", "url": "http://other.test/"},
        {"method": "GET", "url": "https://meta.test/"},
        {"method": "TRACE", "url": f"http://api.test:{port}/echo"},
    ]
    for body in calls:
        seen.append((await _json(app, body)).content)
    proxy = f"/api/v1/broker/proj/openai/http/api.test:{port}"
    for path in ("/echo", "/gzip-echo", "/huge", "/redirect?to=http://x.test/"):
        r = await app.client.get(proxy + path, headers=app.headers)
        seen.append(r.content + repr(list(r.headers.items())).encode())
    metrics = (await app.get("/metrics")).text
    assert 'strongroom_broker_requests_total{outcome="BRK001",status_class="none"}' in metrics
    assert "strongroom_broker_added_latency_seconds_count" in metrics
    seen.append(metrics.encode())
    # The key really went upstream (so the canary could have leaked)...
    assert any(KEY.decode() in (s.header("Authorization") or "") for s in upstream.seen)
    # ...and is nowhere on our side.
    async with app.services.db.read() as s:
        rows = (await s.execute(select(AuditRecord))).scalars().all()
    trail = repr([(r.action, r.target, r.detail, r.outcome) for r in rows]).encode()
    assert b"broker.request" in trail
    out, err = capfd.readouterr()
    places = {
        "responses": b"\n".join(seen),
        "audit": trail,
        "logs": caplog.text.encode() + out.encode() + err.encode(),
    }
    for where, text in places.items():
        for form in FORMS:
            assert text.count(form) == 0, (where, form)


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_sdk_broker(app: App, wired: Any, upstream: Upstream) -> None:
    transport = httpx.ASGITransport(asgi_app(app))
    async with AsyncClient(
        "http://strongroom.test", api_key=app.admin_key, transport=transport, env={}
    ) as sr:
        url = f"http://api.test:{upstream.port}/echo?a=1"
        a = await sr.broker.request("proj", "openai", "POST", url, body=b"\x00bin")
        assert a["status"] == 200 and KEY not in a["body"]
        assert upstream.seen[-1].body == b"\x00bin"
        r = await sr.broker.proxy("proj", "openai", "PUT", url, content=b"p")
        assert r.status_code == 200 and r.json()["target"] == "/echo?a=1"
        r = await sr.broker.proxy("proj", "openai", "GET", url.replace("/echo", "/status/404"))
        assert r.status_code == 404  # the upstream's 404: not an error of ours
        with pytest.raises(BrokerHostNotAllowedError):
            await sr.broker.proxy("proj", "openai", "GET", "https://other.example/")
        with pytest.raises(BrokerHostNotAllowedError):
            await sr.broker.request("proj", "openai", "GET", "https://other.example/")
        base = sr.broker.base_url("proj", "openai", f"http://api.test:{upstream.port}")
        assert base == f"/api/v1/broker/proj/openai/http/api.test:{upstream.port}/"


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
async def test_rotation_under_traffic(app: App, wired: Any, upstream: Upstream) -> None:
    proxy = f"/api/v1/broker/proj/openai/http/api.test:{upstream.port}/echo"
    minted = [KEY.decode()]

    async def call() -> httpx.Response:
        return await app.client.get(proxy, headers=app.headers)

    async def rotate(i: int) -> httpx.Response:
        minted.append(f"sk-rotated-{i:03d}-{'x' * 20}")
        url = "/api/v1/projects/proj/api-keys/openai/rotate"
        return await app.post(url, {"value": minted[-1]})

    for i in range(10):
        answers = await asyncio.gather(rotate(i), *(call() for _ in range(5)))
        assert answers[0].status_code == 200, answers[0].text
        for r in answers[1:]:
            assert r.status_code == 200, r.text
            assert r.headers["x-echo"] == "Bearer [REDACTED]"
    sent = {s.header("Authorization") for s in upstream.seen}
    assert sent <= {f"Bearer {v}" for v in minted} and len(upstream.seen) == 50
    await asyncio.sleep(0.6)  # past the stored keys' state cache (at most 0.5 s)
    assert (await call()).status_code == 200
    assert upstream.seen[-1].header("Authorization") == f"Bearer {minted[-1]}"
