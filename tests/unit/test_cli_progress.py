"""cli/progress.py: plain lines at a bounded cadence when stderr is not a terminal, a
bar when it is; the end is said only for a job that succeeded."""

from __future__ import annotations

import io
import re
import threading

import pytest

from strongroom.cli.progress import Bar, Lines, describe, progress


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Terminal(io.StringIO):
    """A stream that says it is a terminal, as stderr on an operator's screen does."""

    def isatty(self) -> bool:
        return True


def test_lines_come_at_the_start_every_interval_and_at_the_end() -> None:
    out, clock = io.StringIO(), Clock()
    lines = Lines("audit verify", "records", out, interval=5.0, clock=clock)
    lines(0, 5000)
    for done in range(1000, 4001, 1000):  # all within the first interval: quiet
        clock.now += 1.0
        lines(done, 5000)
    clock.now += 1.5
    lines(4500, 5000)  # 5.5 s after the first line
    clock.now += 1.0
    lines(5000, 5000)
    lines.finish()
    assert out.getvalue().splitlines() == [
        "audit verify: 0/5,000 records (0%)",
        "audit verify: 4,500/5,000 records (90%)",
        "audit verify: 5,000/5,000 records (100%); done in 6.5s",
    ]


def test_each_step_starts_a_line_and_says_where_the_step_before_ended() -> None:
    out, clock = io.StringIO(), Clock()
    lines = Lines("audit archive", "records", out, interval=5.0, clock=clock)
    lines(0, 9, "verify")
    lines(9, 9, "verify")
    lines(0, 8, "write")
    lines(8, 8, "write")
    lines(0, None, "check")
    lines(8, None, "check")
    lines.finish()
    assert out.getvalue().splitlines() == [
        "audit archive: verify: 0/9 records (0%)",
        "audit archive: verify: 9/9 records (100%)",
        "audit archive: write: 0/8 records (0%)",
        "audit archive: write: 8/8 records (100%)",
        "audit archive: check: 0 records",
        "audit archive: check: 8 records; done in 0.0s",
    ]


def test_a_job_that_never_reported_still_ends_with_a_line() -> None:
    out = io.StringIO()
    with progress("kms rewrap", "wrapped keys", out):
        pass
    assert re.fullmatch(r"kms rewrap: 0 wrapped keys; done in \d+\.\ds\n", out.getvalue())


def test_a_failed_job_says_nothing_more() -> None:
    out = io.StringIO()
    with pytest.raises(RuntimeError), progress("audit export", stream=out) as shown:
        shown(0, 10)
        raise RuntimeError("disk full")
    # The error line (cli/runner.py) follows the lines already written, no "done".
    assert out.getvalue() == "audit export: 0/10 records (0%)\n"


def test_reports_from_threads_stay_whole_lines() -> None:
    out = io.StringIO()
    lines = Lines("audit verify", "records", out, interval=0.0)

    def report() -> None:
        for done in range(500):
            lines(done, 500)

    workers = [threading.Thread(target=report) for _ in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    said = out.getvalue().splitlines()
    assert len(said) == 2000
    assert all(re.fullmatch(r"audit verify: \d+/500 records \(\d+%\)", line) for line in said)


def test_share_of_an_empty_or_overrun_total() -> None:
    assert describe(0, 0, "keys") == "0/0 keys (100%)"
    assert describe(12, 10, "keys") == "12/10 keys (100%)"
    assert describe(1234567, None, "records") == "1,234,567 records"


def test_a_terminal_gets_a_bar_and_not_lines() -> None:
    screen = Terminal()
    with progress("audit verify", stream=screen) as shown:
        assert isinstance(shown, Bar)
        shown(0, 4)
        shown(3, 4)
    drawn = screen.getvalue()
    assert "audit verify" in drawn and "3/4" in drawn and "records" in drawn
    assert "\x1b[" in drawn  # redrawn in place: terminal control sequences
    assert "━" in drawn  # the bar itself
    assert "done in" not in drawn  # no plain line


def test_a_bar_per_step_and_an_unknown_total() -> None:
    screen = Terminal()
    with progress("audit archive", stream=screen) as shown:
        shown(9, 9, "verify")
        shown(5, None, "check")
    drawn = screen.getvalue()
    assert "audit archive: verify" in drawn and "9/9" in drawn
    assert "audit archive: check" in drawn and "5/?" in drawn


def test_a_plain_stream_gets_lines() -> None:
    out = io.StringIO()
    with progress("audit verify", stream=out) as shown:
        assert isinstance(shown, Lines)
        shown(2, 2)
    assert "\x1b[" not in out.getvalue()
