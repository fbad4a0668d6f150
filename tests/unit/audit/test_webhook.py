"""Issue #15 item 7: security webhooks are signed with the Standard Webhooks scheme
(checked here by an independent verifier), delivered once through one shared client,
retried with backoff on transient failures only. A real HTTP server on 127.0.0.1."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from pydantic import ValidationError

from strongroom.audit.webhook import WebhookSender, signing_key
from strongroom.config import Settings, describe_error

KEY = bytes(range(32))
SECRET = "whsec_" + base64.b64encode(KEY).decode()
TOLERANCE_S = 300  # what docs/security-events.md asks receivers to accept


def verify(secret: str, headers: dict[str, str], body: bytes, seen: set[str]) -> bool:
    """A receiver's check, written from the spec (not from strongroom's code)."""
    key = base64.b64decode(secret.split("_", 1)[1])
    msg_id, ts = headers["webhook-id"], headers["webhook-timestamp"]
    if abs(time.time() - int(ts)) > TOLERANCE_S or msg_id in seen:
        return False
    expected = base64.b64encode(
        hmac.new(key, msg_id.encode() + b"." + ts.encode() + b"." + body, hashlib.sha256).digest()
    )
    for sig in headers["webhook-signature"].split(" "):
        version, _, value = sig.partition(",")
        if version == "v1" and hmac.compare_digest(value.encode(), expected):
            seen.add(msg_id)
            return True
    return False


class Receiver:
    """Answers the scripted statuses in turn, then 204; records each request."""

    def __init__(self, script: list[int]) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.script = list(script)
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(outer.script.pop(0) if outer.script else 204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def accepted(self, secret: str) -> list[bytes]:
        seen: set[str] = set()
        return [body for headers, body in self.requests if verify(secret, headers, body, seen)]


@pytest.fixture
def receiver(request: pytest.FixtureRequest) -> Iterator[Receiver]:
    r = Receiver(getattr(request, "param", []))
    thread = threading.Thread(target=r.server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield r
    r.server.shutdown()
    r.server.server_close()


def sender(url: str, secret: str | None = SECRET) -> WebhookSender:
    return WebhookSender(url, secret, attempts=3, backoff_initial_s=0.01, backoff_max_s=0.05)


BODY = json.dumps({"rule": "key.deletion", "severity": "P3"}).encode()


async def test_signature_verifies_with_an_independent_implementation(receiver: Receiver) -> None:
    s = sender(receiver.url)
    assert await s.send(BODY)
    await s.close()
    assert receiver.accepted(SECRET) == [BODY]
    headers = receiver.requests[0][0]
    assert headers["webhook-id"].startswith("msg_")
    assert "x-strongroom-signature" not in headers  # only legacy secrets get it
    assert receiver.accepted("whsec_" + base64.b64encode(b"another key").decode()) == []


@pytest.mark.parametrize("receiver", [[503, 500]], indirect=True)
async def test_two_failures_then_success_delivers_once(receiver: Receiver) -> None:
    s = sender(receiver.url)
    assert await s.send(BODY)
    await s.close()
    assert len(receiver.requests) == 3
    assert len({h["webhook-id"] for h, _ in receiver.requests}) == 1  # one message
    # the failed attempts were real deliveries too: a receiver dedupes by id
    seen: set[str] = set()
    ok = [verify(SECRET, h, b, seen) for h, b in receiver.requests]
    assert ok == [True, False, False]  # the same id is accepted once


@pytest.mark.parametrize("receiver", [[429]], indirect=True)
async def test_429_is_retried(receiver: Receiver) -> None:
    s = sender(receiver.url)
    assert await s.send(BODY)
    await s.close()
    assert len(receiver.requests) == 2


@pytest.mark.parametrize("receiver", [[400, 400, 400]], indirect=True)
async def test_4xx_is_not_retried(receiver: Receiver) -> None:
    s = sender(receiver.url)
    assert not await s.send(BODY)
    await s.close()
    assert len(receiver.requests) == 1


@pytest.mark.parametrize("receiver", [[503, 503, 503, 503]], indirect=True)
async def test_retries_are_bounded(receiver: Receiver) -> None:
    s = sender(receiver.url)
    assert not await s.send(BODY)
    await s.close()
    assert len(receiver.requests) == 3


async def test_connection_refused_is_retried_and_bounded() -> None:
    r = Receiver([])
    url = r.url
    r.server.server_close()  # nothing listens on that port now
    s = sender(url)
    started = time.monotonic()
    assert not await s.send(BODY)
    assert time.monotonic() - started < 5
    await s.close()


async def test_one_shared_client_closed_on_close(receiver: Receiver) -> None:
    s = sender(receiver.url)
    await s.send(BODY)
    client = s.client()
    await s.send(BODY)
    assert s.client() is client
    await s.close()
    assert client.is_closed


async def test_legacy_secret_keeps_the_old_header_and_signs_with_its_bytes(
    receiver: Receiver,
) -> None:
    s = sender(receiver.url, "plain-old-secret")
    assert await s.send(BODY)
    await s.close()
    headers, body = receiver.requests[0]
    mac = hmac.new(b"plain-old-secret", body, hashlib.sha256).hexdigest()
    assert headers["x-strongroom-signature"] == f"sha256={mac}"
    # migration: the receiver verifies the new scheme with whsec_ + base64(old secret)
    assert receiver.accepted("whsec_" + base64.b64encode(b"plain-old-secret").decode()) == [body]


def test_a_malformed_whsec_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="base64"):
        signing_key("whsec_not base64!")


@pytest.mark.parametrize(
    "secret", ["whsec_not base64!", "whsec_" + base64.b64encode(b"short").decode()]
)
def test_a_malformed_whsec_setting_is_one_line_without_the_value(secret: str) -> None:
    with pytest.raises(ValidationError) as exc:
        Settings(security_webhook_secret=secret)
    line = describe_error(exc.value)
    assert line == (
        "error: STRONGROOM_SECURITY_WEBHOOK_SECRET: whsec_ must be followed by the base64 "
        "of 16 to 64 bytes"
    )
    assert secret not in line
    Settings(security_webhook_secret=SECRET)  # well formed
    Settings(security_webhook_secret="legacy text")  # the legacy form is still accepted
