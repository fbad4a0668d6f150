"""How far a long command got, on stderr (stdout carries only its result): a bar on a
terminal, plain lines otherwise (a pipe, a log file, CI), where a redrawn bar would be
noise.

Plain lines come at the first report of each step, then at most every ``interval``
seconds, and once more when the job ends::

    audit verify: 0/52,000 records (0%)
    audit verify: 31,000/52,000 records (59%)
    audit verify: 52,000/52,000 records (100%); done in 8.4s

A job that fails says nothing more here: its error line follows (cli/runner.py).
Reports may come from a worker thread (the audit walk runs in one).
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from strongroom.observability.progress import Progress as Reporter

INTERVAL = 5.0  # seconds between plain lines: enough to see it move, not a flood


def describe(done: int, total: int | None, unit: str) -> str:
    if total is None:
        return f"{done:,} {unit}"
    share = 100 if total == 0 else min(100, done * 100 // total)
    return f"{done:,}/{total:,} {unit} ({share}%)"


class Lines:
    """Plain lines, one per step start, ``interval`` and end."""

    def __init__(
        self,
        label: str,
        unit: str,
        stream: TextIO,
        interval: float = INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._label, self._unit, self._stream = label, unit, stream
        self._interval, self._clock = interval, clock
        self._lock = threading.Lock()
        self._started = clock()
        self._step: str | None = None  # None: nothing reported yet
        self._done = 0
        self._total: int | None = None
        self._said_at: float | None = None
        self._unsaid = False  # the newest report is not on a line yet

    def __call__(self, done: int, total: int | None, step: str = "") -> None:
        with self._lock:
            now = self._clock()
            if step != self._step:
                if self._unsaid:  # where the step before ended
                    self._say(self._state())
                self._step, self._said_at = step, None
            self._done, self._total = done, total
            self._unsaid = True
            if self._said_at is None or now - self._said_at >= self._interval:
                self._say(self._state())
                self._said_at, self._unsaid = now, False

    def _state(self) -> str:
        step = f"{self._step}: " if self._step else ""
        return f"{self._label}: {step}{describe(self._done, self._total, self._unit)}"

    def _say(self, line: str) -> None:
        self._stream.write(line + "\n")
        self._stream.flush()

    def finish(self) -> None:
        with self._lock:
            if self._step is None:  # the job never reported: say where it ended anyway
                self._step = ""
            self._say(f"{self._state()}; done in {self._clock() - self._started:.1f}s")


class Bar:
    """A rich progress bar, one per step (finished steps stay on screen)."""

    def __init__(self, label: str, unit: str, stream: TextIO) -> None:
        self._label, self._unit = label, unit
        # Decided already: the stream is a terminal. stdout is left alone (the result).
        console = Console(file=stream, force_terminal=True)
        self._bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn(unit),
            TaskProgressColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
            redirect_stdout=False,
        )
        self._lock = threading.Lock()
        self._step: str | None = None
        self._task: TaskID | None = None
        self._bar.start()

    def __call__(self, done: int, total: int | None, step: str = "") -> None:
        with self._lock:
            if self._task is None or step != self._step:
                name = f"{self._label}: {step}" if step else self._label
                self._step, self._task = step, self._bar.add_task(name, total=total)
            self._bar.update(self._task, completed=done, total=total)

    def finish(self) -> None:
        self._bar.stop()


@contextmanager
def progress(label: str, unit: str = "records", stream: TextIO | None = None) -> Iterator[Reporter]:
    """A reporter for a job: a bar if ``stream`` (default stderr) is a terminal, else
    lines. Its end is said only if the job succeeds."""
    out = stream if stream is not None else sys.stderr
    shown = Bar(label, unit, out) if out.isatty() else Lines(label, unit, out)
    try:
        yield shown
    except BaseException:
        if isinstance(shown, Bar):
            shown.finish()  # leave the bar where the job stopped
        raise
    shown.finish()
