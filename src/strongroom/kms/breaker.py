"""The KMS circuit breaker: fail at once while the KMS is down, find out early when it
is back.

Closed: calls go through; ``threshold`` consecutive failures open it, and so do
``timeout_threshold`` consecutive calls that ran out of time (a hung KMS costs each
caller a whole deadline, so waiting for five of them is too slow). Open: calls are
refused without touching the KMS until the probe delay has passed; then exactly one
call goes through as the probe (half-open) while the others keep failing fast. The
probe's success closes the breaker; its failure reopens it with twice the delay, from
``probe_initial`` up to ``probe_max``. So recovery follows the KMS within a fraction
of a second at first, and a long outage is probed only every ``probe_max`` seconds.

(purgatory, used before, lets every call through while half-open and waits a fixed
time before probing, which is what this replaces.)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import Enum


class BreakerOpen(Exception):
    """Refused without calling the KMS."""


class Outcome(Enum):
    OK = "ok"  # the KMS answered (a refusal too: it says nothing about its health)
    FAILED = "failed"  # unavailable
    TIMED_OUT = "timed_out"  # unavailable, and the caller's deadline ran out


class Breaker:
    def __init__(
        self,
        *,
        threshold: int,
        timeout_threshold: int = 2,
        probe_initial: float = 0.25,
        probe_max: float = 5.0,
        on_state: Callable[[str], None] = lambda state: None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._threshold = threshold
        self._timeout_threshold = min(timeout_threshold, threshold)
        self._probe_initial = min(probe_initial, probe_max)
        self._probe_max = probe_max
        self._on_state, self._clock = on_state, clock
        self.state = "closed"  # closed | opened | half-opened (the probe is out)
        self._failures = self._timeouts = 0
        self._delay = self._probe_initial
        self._opened_at = 0.0

    def admit(self) -> bool:
        """Let a call through (True: it is the probe) or raise ``BreakerOpen``."""
        if self.state == "closed":
            return False
        if self.state == "opened" and self._clock() >= self._opened_at + self._delay:
            self._set("half-opened")
            return True
        raise BreakerOpen()

    def record(self, outcome: Outcome, *, probe: bool) -> None:
        if outcome is Outcome.OK:
            self._failures = self._timeouts = 0
            if self.state != "closed":  # the probe, or a call admitted before opening
                self._delay = self._probe_initial
                self._set("closed")
            return
        if probe:  # still down: wait longer before the next probe
            self._delay = min(self._delay * 2, self._probe_max)
            self._open()
            return
        if self.state != "closed":
            return  # admitted before the breaker opened: already counted as down
        self._failures += 1
        self._timeouts = self._timeouts + 1 if outcome is Outcome.TIMED_OUT else 0
        if self._failures >= self._threshold or self._timeouts >= self._timeout_threshold:
            self._delay = self._probe_initial
            self._open()

    def abandon(self, *, probe: bool) -> None:
        """The call ended without an outcome (cancelled): another probe may go."""
        if probe and self.state == "half-opened":
            self._open()

    def _open(self) -> None:
        self._failures = self._timeouts = 0
        self._opened_at = self._clock()
        self._set("opened")

    def _set(self, state: str) -> None:
        if state != self.state:
            self.state = state
            self._on_state(state)
