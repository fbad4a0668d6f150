"""Timeouts, retries and a circuit breaker around any KMS backend, plus its metrics.

Each call has one deadline (``deadline`` seconds) for all its attempts: a hung KMS
costs a caller that long, not ``timeout`` x ``attempts``. Within it, ``tenacity``
retries transient failures (``KmsUnavailable`` only; a refusal such as a context
mismatch is final) with exponential backoff and full jitter, each attempt bounded by
``timeout`` whatever the backend's own client does. The breaker (kms/breaker.py)
opens after ``threshold`` consecutive failed calls, or two that ran out of time; while
open, calls fail at once, and one probe call at a time finds out when the KMS is back
(after 0.25 s, then doubling up to ``reset_seconds``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import TypeVar

from tenacity import (
    AsyncRetrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_random_exponential,
)

from strongroom.kms.breaker import Breaker, BreakerOpen, Outcome
from strongroom.kms.interfaces import Kms, KmsError, KmsUnavailable, Wrapped
from strongroom.observability.metrics import KMS_BREAKER, KMS_CALLS, KMS_LATENCY

T = TypeVar("T")
_STATE_VALUE = {"closed": 0, "half-opened": 1, "opened": 2}
PROBE_INITIAL_SECONDS = 0.25


class KmsTimedOut(KmsUnavailable):
    """An attempt or the call's deadline ran out: the KMS hangs rather than refuses."""


class ResilientKms:
    """A ``Kms`` that wraps another with a deadline, retries and a breaker."""

    def __init__(
        self,
        inner: Kms,
        *,
        timeout: float = 2.0,
        attempts: int = 3,
        deadline: float | None = None,
        backoff_initial: float = 0.05,
        backoff_max: float = 0.5,
        threshold: int = 5,
        reset_seconds: float = 5.0,
    ) -> None:
        self.inner = inner
        self.name = inner.name
        self._timeout, self._attempts = timeout, attempts
        self._deadline = deadline  # None: attempts x timeout (and the backoff between)
        self._backoff = (backoff_initial, backoff_max)
        self._breaker = Breaker(
            threshold=threshold,
            probe_initial=PROBE_INITIAL_SECONDS,
            probe_max=reset_seconds,
            on_state=lambda state: KMS_BREAKER.labels(self.name).set(_STATE_VALUE[state]),
        )
        KMS_BREAKER.labels(self.name).set(0)

    @property
    def key_ref(self) -> str:
        return self.inner.key_ref

    async def wrap(self, plaintext: bytes, context: Mapping[str, str]) -> Wrapped:
        return await self._call("wrap", lambda: self.inner.wrap(plaintext, context))

    async def unwrap(self, wrapped: Wrapped, context: Mapping[str, str]) -> bytes:
        return await self._call("unwrap", lambda: self.inner.unwrap(wrapped, context))

    async def rewrap(self, wrapped: Wrapped, context: Mapping[str, str]) -> Wrapped:
        return await self._call("rewrap", lambda: self.inner.rewrap(wrapped, context))

    async def health(self) -> bool:
        try:
            return await self._call("health", self.inner.health)
        except KmsError:
            return False

    async def breaker_state(self) -> str:
        return self._breaker.state

    async def close(self) -> None:
        await self.inner.close()

    async def _call(self, op: str, fn: Callable[[], Awaitable[T]]) -> T:
        started = time.perf_counter()
        outcome = "ok"
        probe = False
        try:
            probe = self._breaker.admit()
            result = await self._within_deadline(fn)
        except BreakerOpen:
            outcome = "breaker_open"
            raise KmsUnavailable("KMS circuit open") from None
        except KmsUnavailable as exc:
            outcome = "unavailable"
            timed_out = isinstance(exc, KmsTimedOut)
            self._breaker.record(Outcome.TIMED_OUT if timed_out else Outcome.FAILED, probe=probe)
            raise
        except KmsError:
            outcome = "refused"  # the KMS answered: healthy
            self._breaker.record(Outcome.OK, probe=probe)
            raise
        except BaseException:
            outcome = "error"
            self._breaker.abandon(probe=probe)
            raise
        finally:
            KMS_CALLS.labels(self.name, op, outcome).inc()
            KMS_LATENCY.labels(self.name, op).observe(time.perf_counter() - started)
        self._breaker.record(Outcome.OK, probe=probe)
        return result

    async def _within_deadline(self, fn: Callable[[], Awaitable[T]]) -> T:
        if self._deadline is None:
            return await self._with_retries(fn)
        try:
            async with asyncio.timeout(self._deadline):
                return await self._with_retries(fn)
        except TimeoutError:
            raise KmsTimedOut("KMS call timed out") from None

    async def _with_retries(self, fn: Callable[[], Awaitable[T]]) -> T:
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self._attempts),
            wait=wait_random_exponential(multiplier=self._backoff[0], max=self._backoff[1]),
            retry=retry_if_exception_type(KmsUnavailable),
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                try:
                    async with asyncio.timeout(self._timeout):
                        return await fn()
                except TimeoutError:
                    # One attempt timed out; the deadline decides whether another fits.
                    raise KmsTimedOut("KMS call timed out") from None
        raise AssertionError("unreachable")  # reraise=True re-raises the last error
