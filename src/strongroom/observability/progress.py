"""How far a long job got, for whoever watches it (the command line draws a bar or
prints lines: cli/progress.py).

A job takes an optional ``Progress`` and calls it as it goes with the work done so far
and the total (None while unknown). A job of several steps names each one (``step``);
``done`` counts from 0 again in each step. Calls may come from a worker thread (the
audit walk runs in one), so an implementation must be thread-safe. A job never waits
for its watcher: a call only records where the job is.
"""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    def __call__(self, done: int, total: int | None, step: str = "") -> None: ...


class _Step:
    def __init__(self, progress: Progress, step: str) -> None:
        self._progress, self._step = progress, step

    def __call__(self, done: int, total: int | None, step: str = "") -> None:
        self._progress(done, total, step or self._step)


def in_step(progress: Progress | None, step: str) -> Progress | None:
    """``progress`` for one named step of a job (a job's part that is a job itself)."""
    return None if progress is None else _Step(progress, step)
