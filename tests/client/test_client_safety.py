"""What the client must never leak, and how it retries: a canary value is in no
captured log line and no exception text; ``Retry-After`` is honoured for retryable
answers only; the real ``strongroom serve`` works with both clients."""

from __future__ import annotations

import logging
import re
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from strongroom_client import AsyncClient, Client, InvalidInputError, RetryPolicy
from strongroom_client.errors import OverloadedError, StrongroomError
from tests.client.conftest import ThreadServer
from tests.integration.test_cli import (
    Server,
    servers,  # noqa: F401 (fixture)
    srk_lines,
    start,
)

CANARY = "canary-7f3a-VALUE"


def user() -> str:
    return f"s-{uuid.uuid4().hex[:12]}"


async def test_canary_never_in_logs_or_errors(sr: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    alice = user()
    await sr.keys.create(alice)
    texts: list[str] = []
    ct = await sr.encrypt(alice, [CANARY], context=CANARY)
    plain = await sr.decrypt(alice, ct, context=CANARY)
    assert plain == [CANARY]
    texts += [repr(plain), repr(plain[0])]
    offline = await sr.encrypt_offline(alice, [CANARY])
    for bad in (
        sr.decrypt(alice, ct, context="other"),
        sr.decrypt(alice, [CANARY]),
        sr.encrypt(alice, [CANARY, "\ud800"]),
        sr.decrypt(user(), offline),
        sr.blind_index.tokens(CANARY + "!", [CANARY]),
        sr.rotate(alice, [CANARY], reason=CANARY),
    ):
        with pytest.raises(StrongroomError) as caught:
            await bad
        texts += [str(caught.value), repr(caught.value), repr(caught.value.details)]
    issued = await sr.access_keys.create(["user"], description="d")
    texts += [repr(issued), repr(sr)]
    texts += [r.getMessage() for r in caplog.records] + [caplog.text]
    for text in texts:
        assert CANARY not in text and issued["key"] not in text
    assert any(r.name == "strongroom_client" for r in caplog.records)  # it did log


class Flaky(httpx.HTTPTransport):
    """Sheds the first ``n`` requests with 503 SYS002 and ``Retry-After: 0``."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.left, self.seen = n, 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.seen += 1
        if self.left > 0:
            self.left -= 1
            body = {"success": False, "error": {"code": "SYS002", "message": "overloaded"}}
            return httpx.Response(503, json=body, headers={"Retry-After": "0"}, request=request)
        return super().handle_request(request)


def test_retries_honour_retry_after_and_give_up(
    service: ThreadServer, admin_key: str, caplog: pytest.LogCaptureFixture
) -> None:
    retry = RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.02)
    flaky = Flaky(2)
    with Client(service.addr, api_key=admin_key, retry=retry, transport=flaky, env={}) as c:
        bob = user()
        c.keys.create(bob)  # not idempotent, but SYS002 means nothing was done
        assert flaky.seen == 3
        assert sum("retrying" in r.getMessage() for r in caplog.records) == 2
    down = Flaky(5)
    with Client(service.addr, api_key=admin_key, retry=retry, transport=down, env={}) as c:
        with pytest.raises(OverloadedError) as shed:
            c.keys.get(bob)
        assert shed.value.retry_after == 0 and down.seen == 3
        with pytest.raises(InvalidInputError):  # not retryable: one request
            down.left = 0
            before = down.seen
            c.decrypt(bob, ["sr:v1:AAAA"])
        assert down.seen == before + 1


@pytest.mark.slow
async def test_real_serve_with_both_clients(
    tmp_path: Path,
    servers: list[Server],  # noqa: F811
) -> None:
    server = start(servers, tmp_path, "serve")
    admin = re.search(r"srk_\S+", "\n".join(srk_lines(server.stdout() + server.stderr())))
    assert admin is not None
    key = admin.group(0)
    with Client(server.base, api_key=key, env={}) as c:
        pinned = c.keys.service_keys()["keyStatement"]["pem"]
    with Client(server.base, api_key=key, service_key=pinned, env={}) as c:
        c.keys.create("smoke-sync", key_type="mlkem768-x25519-hpke")
        ct = c.encrypt_offline("smoke-sync", ["hello"]) + c.encrypt("smoke-sync", ["world"])
        assert c.decrypt("smoke-sync", ct) == ["hello", "world"]
    async with AsyncClient(server.base, api_key=key, service_key=pinned, env={}) as ac:
        await ac.keys.create("smoke-async", key_type="p256-hpke")
        ct = await ac.encrypt_offline("smoke-async", ["hello"])
        assert await ac.decrypt("smoke-async", ct) == ["hello"]
        assert len(await ac.blind_index.tokens("email", ["a@b"], user_id="smoke-async")) == 1
