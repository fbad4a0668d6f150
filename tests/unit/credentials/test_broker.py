"""The broker service against local upstreams on 127.0.0.1 (tests/broker_support.py):
what reaches the upstream, what is refused, scrubbing, hostile upstreams, records."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from tests.broker_support import Keys, StubDns, Upstream, Uses, make_tls, target

from strongroom.audit.actions import BrokerAction
from strongroom.audit.models import AuditEvent, Outcome
from strongroom.config import BrokerSettings
from strongroom.context import Actor
from strongroom.credentials.broker import Broker
from strongroom.credentials.broker_factory import build_broker
from strongroom.credentials.contract import (
    Injection,
    InjectionKind,
    Narrowing,
    Outbound,
    UseKind,
)
from strongroom.errors import StrongroomError

KEY = b"sk-test-CANARY-5f1c9b7e2d4a"
OLD = b"sk-test-OLDVAL-0a1b2c3d4e5f"
ACTOR = Actor("caller-1", "default", "rid-1", "203.0.113.9")


class Trail:
    def __init__(self) -> None:
        self.events: list[AuditEvent] = []

    async def append_before_release(self, event: AuditEvent) -> None:
        self.events.append(event)


@pytest.fixture
async def upstream() -> AsyncIterator[Upstream]:
    up = await Upstream().start()
    yield up
    await up.stop()


OPEN: list[Broker] = []


@pytest.fixture(autouse=True)
async def _close_brokers() -> AsyncIterator[None]:
    yield
    while OPEN:
        await OPEN.pop().aclose()


def _broker(keys: Keys, dns: StubDns, **settings: Any) -> tuple[Broker, Uses, Trail]:
    uses, trail = Uses(), Trail()
    s = BrokerSettings(**{"timeout_seconds": 3.0, **settings})
    broker = build_broker(s, trail, keys, uses, dns)
    OPEN.append(broker)
    return broker, uses, trail


@pytest.fixture
def parts() -> tuple[Broker, Uses, Trail, StubDns]:
    dns = StubDns({"api.test": ["127.0.0.1"], "other.test": ["127.0.0.1"]})
    keys = Keys({("proj", "openai"): target(KEY, ("api.test",), previous=OLD)})
    broker, uses, trail = _broker(keys, dns)
    return broker, uses, trail, dns


async def _send(broker: Broker, url: str, **kw: Any) -> Any:
    narrowing = kw.pop("narrowing", None)
    kw.setdefault("method", "GET")
    return await broker.send(ACTOR, "proj", "openai", Outbound(url=url, **kw), narrowing)


async def _code(broker: Broker, url: str, **kw: Any) -> str:
    with pytest.raises(StrongroomError) as e:
        await _send(broker, url, **kw)
    return e.value.code


async def test_the_key_reaches_an_allowed_host_only(parts: Any, upstream: Upstream) -> None:
    broker, uses, trail, _ = parts
    given = (("Authorization", "Bearer caller"), ("X-API-Key", "srk_live_x"), ("X-Trace", "1"))
    a = await _send(
        broker, f"http://api.test:{upstream.port}/echo?q=1", method="POST", headers=given,
        body=b'{"x": 1}',
    )  # fmt: skip
    assert a.status == 200
    [seen] = upstream.seen
    assert seen.header("Authorization") == "Bearer " + KEY.decode()
    assert seen.header("X-API-Key") is None and seen.header("X-Trace") == "1"
    assert seen.header("Host") == f"api.test:{upstream.port}" and seen.body == b'{"x": 1}'
    assert KEY not in a.body and b"[REDACTED]" in a.body  # the echo is scrubbed
    assert dict(a.headers)["X-Echo"] == "Bearer [REDACTED]"
    assert [u.kind for u in uses.uses] == [UseKind.BROKER] and uses.uses[0].status == 200
    [ev] = trail.events
    assert ev.action == BrokerAction.REQUEST and ev.outcome == Outcome.SUCCESS
    assert ev.detail is not None and ev.detail["path"] == "/echo?q"
    assert ev.detail["host"] == "api.test" and ev.detail["status"] == 200
    assert (await _code(broker, f"http://other.test:{upstream.port}/echo")) == "BRK001"
    assert len(upstream.seen) == 1
    assert [u.kind for u in uses.uses] == [UseKind.BROKER, UseKind.DENIED]
    assert trail.events[-1].outcome == Outcome.DENIED
    assert trail.events[-1].detail is not None and trail.events[-1].detail["code"] == "BRK001"


@pytest.mark.parametrize(
    "answer", [["169.254.169.254"], ["100.64.0.1"], ["::ffff:169.254.169.254"], ["10.0.0.1"]]
)
async def test_internal_addresses_are_refused(answer: list[str], upstream: Upstream) -> None:
    keys = Keys({("proj", "openai"): target(KEY, ("api.test",), networks=())})
    broker, uses, _ = _broker(keys, StubDns({"api.test": answer}))
    assert (await _code(broker, f"https://api.test:{upstream.port}/echo")) == "BRK002"
    assert uses.uses[0].kind == UseKind.DENIED


async def test_loopback_needs_the_key_to_allow_it(upstream: Upstream) -> None:
    keys = Keys({("proj", "openai"): target(KEY, ("api.test", "127.0.0.1"), networks=())})
    broker, _, _ = _broker(keys, StubDns({"api.test": ["127.0.0.1"]}))
    assert (await _code(broker, f"http://api.test:{upstream.port}/echo")) == "BRK002"
    assert (await _code(broker, f"http://127.0.0.1:{upstream.port}/echo")) == "BRK002"
    assert upstream.seen == []


async def test_dns_changing_between_check_and_connect(upstream: Upstream) -> None:
    # The first answer is checked and connected to; a second query would rebind.
    dns = StubDns({"api.test": [["127.0.0.1"], ["169.254.169.254"]]})
    keys = Keys({("proj", "openai"): target(KEY, ("api.test",))})
    broker, _, _ = _broker(keys, dns)
    a = await _send(broker, f"http://api.test:{upstream.port}/echo")
    assert a.status == 200 and dns.queries["api.test"] == 1
    # Rebinding the other way (public first, internal next): the next call resolves
    # again, sees the internal answer and is refused.
    assert (await _code(broker, f"http://api.test:{upstream.port}/echo")) == "BRK002"
    assert len(upstream.seen) == 1


async def test_redirects_are_never_followed(parts: Any, upstream: Upstream) -> None:
    broker, _, trail, _ = parts
    base = f"http://api.test:{upstream.port}"
    away = f"{base}/redirect?to=http://other.test:{upstream.port}/echo"
    assert (await _code(broker, away)) == "BRK008"
    assert trail.events[-1].outcome == Outcome.DENIED
    same = await _send(broker, f"{base}/redirect?to=/echo")
    assert same.status == 302 and dict(same.headers)["Location"] == "/echo"
    assert [s.target.split("?")[0] for s in upstream.seen] == ["/redirect", "/redirect"]


async def test_dns_failure_and_unreachable(parts: Any) -> None:
    broker, uses, _, _ = parts
    broker.targets.targets[("proj", "openai")] = target(KEY, ("nx.test", "api.test"))
    assert (await _code(broker, "https://nx.test/")) == "BRK003"
    # a closed port on an allowed address
    assert (await _code(broker, "http://api.test:1/")) == "BRK005"
    assert uses.uses[-1].kind == UseKind.BROKER and uses.uses[-1].status is None


async def test_narrowing_limits_methods_and_hosts(parts: Any, upstream: Upstream) -> None:
    broker, _, trail, _ = parts
    url = f"http://api.test:{upstream.port}/echo"
    n = Narrowing(hosts=("api.test",), methods=("GET",), session_id="sess-1")
    assert (await _send(broker, url, narrowing=n)).status == 200
    assert trail.events[-1].detail is not None and trail.events[-1].detail["session"] == "sess-1"
    assert (await _code(broker, url, method="POST", narrowing=n)) == "BRK010"
    other = Narrowing(hosts=("elsewhere.test",))
    assert (await _code(broker, url, narrowing=other)) == "BRK001"
    assert len(upstream.seen) == 1


async def test_request_shape_and_size(parts: Any, upstream: Upstream) -> None:
    broker, _, _, _ = parts
    url = f"http://api.test:{upstream.port}/echo"
    assert (await _code(broker, url, method="CONNECT")) == "BRK009"
    assert (await _code(broker, url, method="G ET")) == "BRK009"
    assert (await _code(broker, "ftp://api.test/")) == "BRK009"
    assert (await _code(broker, url, headers=(("X-Bad", "a\r\nb"),))) == "BRK009"
    big = b"x" * (1024 * 1024 + 1)
    assert (await _code(broker, url, method="POST", body=big)) == "BRK007"
    assert upstream.seen == []


async def test_query_injection_and_previous_value_scrubbed(upstream: Upstream) -> None:
    inj = Injection(InjectionKind.QUERY, "api_key")
    keys = Keys({("proj", "openai"): target(KEY, injection=inj, previous=OLD)})
    broker, _, trail = _broker(keys, StubDns({"api.test": ["127.0.0.1"]}))
    a = await _send(broker, f"http://api.test:{upstream.port}/echo?api_key=forged&x=1")
    assert upstream.seen[0].target == f"/echo?x=1&api_key={KEY.decode()}"
    assert KEY not in a.body
    assert trail.events[-1].detail is not None
    assert trail.events[-1].detail["path"] == "/echo?api_key&x"
    # the previous slot's value, echoed in a body, is scrubbed too
    h = (("X-Note", OLD.decode()),)
    a = await _send(broker, f"http://api.test:{upstream.port}/echo", headers=h)
    assert OLD not in a.body and b"[REDACTED]" in a.body


async def test_gzip_answers_are_decoded_then_scrubbed(parts: Any, upstream: Upstream) -> None:
    broker, _, _, _ = parts
    a = await _send(broker, f"http://api.test:{upstream.port}/gzip-echo")
    assert a.status == 200 and KEY not in a.body
    assert json.loads(a.body)["method"] == "GET"
    assert "content-encoding" not in {k.lower() for k, _ in a.headers}
    assert dict(upstream.seen[0].headers)["Accept-Encoding"] == "identity"


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/huge", "BRK006"),
        ("/endless", "BRK006"),
        ("/slow", "BRK004"),
        ("/hang", "BRK004"),
        ("/garbage", "BRK005"),
        ("/close", "BRK005"),
    ],
)
async def test_hostile_upstreams_get_a_code_never_a_hang(path: str, code: str) -> None:
    up = await Upstream().start()
    try:
        keys = Keys({("proj", "openai"): target(KEY)})
        broker, uses, _ = _broker(keys, StubDns({"api.test": ["127.0.0.1"]}), timeout_seconds=1.5)
        t0 = time.perf_counter()
        assert (await _code(broker, f"http://api.test:{up.port}{path}")) == code
        assert time.perf_counter() - t0 < 5
        assert uses.uses[-1].kind == UseKind.BROKER
    finally:
        await up.stop()


async def test_tls_upstream_verified_for_the_name(tmp_path: Path) -> None:
    tls = make_tls(tmp_path, ("api.test",))
    up = await Upstream().start(tls.server)
    try:
        dns = StubDns({"api.test": ["127.0.0.1"], "wrong.test": ["127.0.0.1"]})
        keys = Keys({("proj", "openai"): target(KEY, ("api.test", "wrong.test"))})
        uses, trail = Uses(), Trail()
        s = BrokerSettings(timeout_seconds=3.0)
        broker = build_broker(s, trail, keys, uses, dns, tls.client)
        OPEN.append(broker)
        a = await _send(broker, f"https://api.test:{up.port}/echo")
        assert a.status == 200 and KEY not in a.body
        assert up.seen[0].header("Authorization") == "Bearer " + KEY.decode()
        # A certificate not valid for the name asked for: refused before any request.
        assert (await _code(broker, f"https://wrong.test:{up.port}/echo")) == "BRK005"
        # The system trust store does not know the test CA.
        plain = build_broker(s, trail, keys, uses, dns)
        OPEN.append(plain)
        assert (await _code(plain, f"https://api.test:{up.port}/echo")) == "BRK005"
        assert len(up.seen) == 1
    finally:
        await up.stop()


async def test_plain_http_only_to_networks_the_key_names(upstream: Upstream) -> None:
    keys = Keys({("proj", "openai"): target(KEY, ("api.test",), networks=())})
    broker, _, _ = _broker(keys, StubDns({"api.test": ["8.8.8.8"]}))
    with pytest.raises(StrongroomError) as e:
        await _send(broker, "http://api.test/echo")
    assert e.value.code == "BRK002" and e.value.detail == {"reason": "plaintext"}


async def test_concurrent_calls_share_pooled_connections(parts: Any, upstream: Upstream) -> None:
    broker, uses, _, _ = parts
    url = f"http://api.test:{upstream.port}/echo"
    answers = await asyncio.gather(*(_send(broker, url) for _ in range(50)))
    assert {a.status for a in answers} == {200} and len(uses.uses) == 50
