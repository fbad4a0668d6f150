"""Timeouts, retries and a circuit breaker around any KMS backend, plus its metrics.

Libraries, not loops: ``tenacity`` retries transient failures (``KmsUnavailable``
only; a refusal such as a context mismatch is final) with exponential backoff and
full jitter; ``purgatory`` opens the breaker after ``threshold`` consecutive
transient failures, so while the KMS is down calls fail at once instead of
queueing, and one probe call is let through after ``reset_seconds``.
Every call is bounded by ``timeout`` per attempt, whatever the backend's own
client does.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from purgatory import AsyncCircuitBreakerFactory
from purgatory.domain.model import OpenedState
from tenacity import (
    AsyncRetrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_random_exponential,
)

from strongroom.kms.interfaces import Kms, KmsError, KmsUnavailable, Wrapped
from strongroom.observability.metrics import KMS_BREAKER, KMS_CALLS, KMS_LATENCY

T = TypeVar("T")
_STATE_VALUE = {"closed": 0, "half-opened": 1, "opened": 2}


class ResilientKms:
    """A ``Kms`` that wraps another with per-call timeouts, retries and a breaker."""

    def __init__(
        self,
        inner: Kms,
        *,
        timeout: float = 2.0,
        attempts: int = 3,
        backoff_initial: float = 0.05,
        backoff_max: float = 0.5,
        threshold: int = 5,
        reset_seconds: float = 5.0,
    ) -> None:
        self.inner = inner
        self.name = inner.name
        self._timeout, self._attempts = timeout, attempts
        self._backoff = (backoff_initial, backoff_max)
        # Refusals (KmsError but not KmsUnavailable) say nothing about KMS health.
        refusal = (KmsError, lambda exc: not isinstance(exc, KmsUnavailable))
        self._breakers = AsyncCircuitBreakerFactory(
            default_threshold=threshold, default_ttl=reset_seconds, exclude=[refusal]
        )
        self._breakers.add_listener(self._on_breaker_event)
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
        breaker = await self._breakers.get_breaker(self.name)
        return str(breaker.context.state)

    async def close(self) -> None:
        await self.inner.close()

    async def _call(self, op: str, fn: Callable[[], Awaitable[T]]) -> T:
        started = time.perf_counter()
        outcome = "ok"
        try:
            breaker = await self._breakers.get_breaker(self.name)
            async with breaker:
                return await self._with_retries(fn)
        except OpenedState:
            outcome = "breaker_open"
            raise KmsUnavailable("KMS circuit open") from None
        except KmsUnavailable:
            outcome = "unavailable"
            raise
        except KmsError:
            outcome = "refused"
            raise
        finally:
            KMS_CALLS.labels(self.name, op, outcome).inc()
            KMS_LATENCY.labels(self.name, op).observe(time.perf_counter() - started)

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
                    raise KmsUnavailable("KMS call timed out") from None
        raise AssertionError("unreachable")  # reraise=True re-raises the last error

    def _on_breaker_event(self, name: str, event_type: str, event: Any) -> None:
        if event_type == "state_changed":
            KMS_BREAKER.labels(self.name).set(_STATE_VALUE.get(str(event.state), 0))
