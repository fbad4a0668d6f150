"""ResilientKms: which failures are retried, when the breaker opens and closes, and
that a dead KMS costs a bounded time per call. The inner backend is a scripted
in-memory ``Kms`` (the contract suite runs the wrapper over real servers)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import TypedDict, Unpack

import pytest

from strongroom.kms.interfaces import KmsError, KmsUnavailable, Wrapped
from strongroom.kms.resilience import ResilientKms
from strongroom.observability.metrics import KMS_BREAKER, KMS_CALLS

CTX = {"purpose": "t"}


class Scripted:
    """Fails with ``failure`` while ``down``; counts calls; optionally hangs."""

    name = "scripted"
    key_ref = "scripted:k"

    def __init__(self) -> None:
        self.calls = 0
        self.down = False
        self.failure: Exception = KmsUnavailable("down")
        self.hang = False

    async def _step(self) -> None:
        self.calls += 1
        if self.hang:
            await asyncio.sleep(60)
        if self.down:
            raise self.failure

    async def wrap(self, plaintext: bytes, context: Mapping[str, str]) -> Wrapped:
        await self._step()
        return Wrapped(self.key_ref, plaintext[::-1])

    async def unwrap(self, wrapped: Wrapped, context: Mapping[str, str]) -> bytes:
        await self._step()
        return wrapped.blob[::-1]

    async def rewrap(self, wrapped: Wrapped, context: Mapping[str, str]) -> Wrapped:
        await self._step()
        return wrapped

    async def health(self) -> bool:
        await self._step()
        return True

    async def close(self) -> None:
        return None


class Options(TypedDict, total=False):
    timeout: float
    attempts: int
    reset_seconds: float


def resilient(inner: Scripted, **kw: Unpack[Options]) -> ResilientKms:
    opts = Options(attempts=3) | kw
    return ResilientKms(inner, backoff_initial=0.001, backoff_max=0.002, threshold=3, **opts)


async def test_transient_failures_are_retried_then_succeed(monkeypatch: pytest.MonkeyPatch) -> None:
    inner = Scripted()
    kms = resilient(inner)
    inner.down = True

    step = inner._step

    async def recover_on_third_call() -> None:
        if inner.calls == 2:
            inner.down = False
        await step()

    monkeypatch.setattr(inner, "_step", recover_on_third_call)
    wrapped = await kms.wrap(b"abc", CTX)
    assert await kms.unwrap(wrapped, CTX) == b"abc"
    assert inner.calls >= 3


async def test_refusals_are_not_retried_and_do_not_open_the_breaker() -> None:
    inner = Scripted()
    kms = resilient(inner)
    inner.down, inner.failure = True, KmsError("context mismatch")
    for _ in range(10):
        with pytest.raises(KmsError) as err:
            await kms.unwrap(Wrapped("scripted:k", b"x"), CTX)
        assert not isinstance(err.value, KmsUnavailable)
    assert inner.calls == 10  # one attempt each
    assert await kms.breaker_state() == "closed"


async def test_breaker_opens_fails_fast_and_closes_after_reset() -> None:
    inner = Scripted()
    kms = resilient(inner, reset_seconds=0.3)
    inner.down = True
    for _ in range(3):  # threshold 3 calls, each retried 3 times
        with pytest.raises(KmsUnavailable):
            await kms.wrap(b"a", CTX)
    assert await kms.breaker_state() == "opened"
    assert KMS_BREAKER.labels("scripted")._value.get() == 2
    calls = inner.calls
    before = KMS_CALLS.labels("scripted", "wrap", "breaker_open")._value.get()
    with pytest.raises(KmsUnavailable):
        await kms.wrap(b"a", CTX)
    assert inner.calls == calls  # not even attempted
    assert KMS_CALLS.labels("scripted", "wrap", "breaker_open")._value.get() == before + 1

    inner.down = False
    await asyncio.sleep(0.35)
    assert await kms.unwrap(await kms.wrap(b"ok", CTX), CTX) == b"ok"
    assert await kms.breaker_state() == "closed"


async def test_a_hanging_kms_is_cut_off_by_the_timeout() -> None:
    inner = Scripted()
    kms = resilient(inner, timeout=0.05, attempts=2)
    inner.hang = True
    t0 = time.perf_counter()
    with pytest.raises(KmsUnavailable):
        await kms.wrap(b"a", CTX)
    assert inner.calls == 2
    assert time.perf_counter() - t0 < 5  # bounded by 2 x 0.05 s, not the 60 s hang


async def test_health_reports_false_instead_of_raising() -> None:
    inner = Scripted()
    kms = resilient(inner)
    assert await kms.health() is True
    inner.down = True
    assert await kms.health() is False


async def test_one_deadline_bounds_all_attempts_of_a_call() -> None:
    inner = Scripted()
    # Three attempts of 0.2 s would take 0.6 s: the deadline cuts the call at 0.1 s.
    kms = ResilientKms(inner, timeout=0.2, attempts=3, deadline=0.1, threshold=5)
    inner.hang = True
    t0 = time.perf_counter()
    with pytest.raises(KmsUnavailable):
        await kms.wrap(b"a", CTX)
    assert time.perf_counter() - t0 < 0.18
    assert inner.calls == 1


async def test_transient_failures_are_still_retried_within_the_deadline() -> None:
    inner = Scripted()
    kms = ResilientKms(inner, attempts=3, deadline=1.0, backoff_initial=0.001, backoff_max=0.002)
    inner.down = True
    with pytest.raises(KmsUnavailable):
        await kms.wrap(b"a", CTX)
    assert inner.calls == 3


async def test_two_timed_out_calls_open_the_breaker() -> None:
    inner = Scripted()
    kms = ResilientKms(inner, timeout=0.05, attempts=3, deadline=0.05, threshold=5)
    inner.hang = True
    for _ in range(2):
        with pytest.raises(KmsUnavailable):
            await kms.wrap(b"a", CTX)
    assert await kms.breaker_state() == "opened"  # not after five
    calls = inner.calls
    t0 = time.perf_counter()
    with pytest.raises(KmsUnavailable):
        await kms.wrap(b"a", CTX)
    assert inner.calls == calls and time.perf_counter() - t0 < 0.01


async def test_the_breaker_probes_early_with_one_call_and_backs_off() -> None:
    inner = Scripted()
    kms = ResilientKms(inner, attempts=1, threshold=1, reset_seconds=5.0, backoff_initial=0.001)
    inner.down = True
    with pytest.raises(KmsUnavailable):
        await kms.wrap(b"a", CTX)
    assert await kms.breaker_state() == "opened"
    await asyncio.sleep(0.3)  # the first probe goes after 0.25 s, not the 5 s reset
    calls = inner.calls
    with pytest.raises(KmsUnavailable):
        await kms.wrap(b"a", CTX)  # the probe: still down
    assert inner.calls == calls + 1
    await asyncio.sleep(0.3)  # the next probe waits 0.5 s
    with pytest.raises(KmsUnavailable):
        await kms.wrap(b"a", CTX)
    assert inner.calls == calls + 1
    inner.down = False
    await asyncio.sleep(0.25)
    assert await kms.unwrap(await kms.wrap(b"ok", CTX), CTX) == b"ok"
    assert await kms.breaker_state() == "closed"


async def test_only_one_probe_at_a_time() -> None:
    inner = Scripted()
    kms = ResilientKms(inner, timeout=0.3, attempts=1, threshold=1, backoff_initial=0.001)
    inner.down = True
    with pytest.raises(KmsUnavailable):
        await kms.wrap(b"a", CTX)
    await asyncio.sleep(0.3)
    inner.down, inner.hang = False, True  # back, but slow to answer the probe
    calls = inner.calls
    results = await asyncio.gather(
        *(kms.wrap(b"a", CTX) for _ in range(10)), return_exceptions=True
    )
    assert inner.calls == calls + 1  # one probe; the other nine failed fast
    assert all(isinstance(r, KmsUnavailable) for r in results)
