"""The risk score's golden table: each expected score is worked out by hand from the
factor table of approvals/risk.py (and docs/approvals.md), not copied from output.
The same scenarios give the same scores and decisions on every run, and each
assessment records the policy version it was made under.

Factor table: sensitivity low 0 / medium 15 / high 30 (unknown: high); any write
method 15; duration <=300 s 0, <=900 s 5, <=3600 s 10, longer 15; tier trusted 0 /
standard 5 / restricted 15 (unknown: restricted); first use 10; anomalies 5 each, at
most 15; denials 5 each, at most 10; off-hours 5 (outside [8, 18) UTC or Sat/Sun).
Sum capped at 100. Auto-approve iff score < threshold and duration <= cap and the
tool is not new.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from strongroom.approvals.models import Policy
from strongroom.approvals.risk import RiskInputs, assess

WED_10 = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)  # a Wednesday, business hours
WED_20 = datetime(2026, 12, 2, 20, 0, tzinfo=UTC)
SAT_10 = datetime(2026, 12, 5, 10, 0, tzinfo=UTC)  # a Saturday

DEFAULT = Policy()  # version 0: threshold 30, cap 900 s, hours 8-18
LENIENT = Policy(version=2, threshold=31)
STRICT = Policy(version=3, threshold=0)
LONG_CAP = Policy(version=4, duration_cap_seconds=3600)


@dataclass(frozen=True)
class Case:
    name: str
    score: int
    auto: bool
    sensitivity: str = "low"
    methods: tuple[str, ...] = ("GET",)
    duration: int = 300
    tier: str = "trusted"
    first_use: bool = False
    anomalies: int = 0
    denials: int = 0
    at: datetime = WED_10
    tool_new: bool = False
    policy: Policy = DEFAULT


CASES = [
    Case("baseline: nothing raises risk", 0, True),
    Case("duration 301 s: step 5", 5, True, duration=301),
    Case("900 s standard tool: 5 + 5", 10, True, duration=900, tier="standard"),
    Case("901 s: 10 + 5, over the 900 s cap", 15, False, duration=901, tier="standard"),
    Case("medium key, standard: 15 + 5", 20, True, sensitivity="medium", tier="standard"),
    Case(
        "medium key writes: 15 + 15 + 5",
        35,
        False,
        sensitivity="medium",
        methods=("POST",),
        tier="standard",
    ),
    Case("high key alone: 30 is not under 30", 30, False, sensitivity="high"),
    Case("high key under threshold 31 (policy v2)", 30, True, sensitivity="high", policy=LENIENT),
    Case("first use, standard: 10 + 5", 15, True, first_use=True, tier="standard"),
    Case("restricted tool", 15, True, tier="restricted"),
    Case("restricted + first use: 15 + 10", 25, True, tier="restricted", first_use=True),
    Case(
        "restricted + first use + 1 anomaly: 30",
        30,
        False,
        tier="restricted",
        first_use=True,
        anomalies=1,
    ),
    Case("2 anomalies: 10", 10, True, anomalies=2),
    Case("3 anomalies: 15", 15, True, anomalies=3),
    Case("7 anomalies: capped at 15", 15, True, anomalies=7),
    Case("1 denial: 5", 5, True, denials=1),
    Case("5 denials: capped at 10", 10, True, denials=5),
    Case("20:00 on a weekday: off-hours 5", 5, True, at=WED_20),
    Case("Saturday 10:00: off-hours 5", 5, True, at=SAT_10),
    Case("07:59: off-hours", 5, True, at=datetime(2026, 12, 2, 7, 59, tzinfo=UTC)),
    Case("08:00: business hours", 0, True, at=datetime(2026, 12, 2, 8, 0, tzinfo=UTC)),
    Case("18:00: off-hours (end exclusive)", 5, True, at=datetime(2026, 12, 2, 18, tzinfo=UTC)),
    Case("new tool: score 0 still waits", 0, False, tool_new=True),
    Case("DELETE alone is a write: 15", 15, True, methods=("DELETE",)),
    Case("GET, HEAD, OPTIONS: no write", 0, True, methods=("GET", "HEAD", "OPTIONS")),
    Case("PUT and PATCH count once: 15", 15, True, methods=("PATCH", "PUT")),
    Case("3600 s: 10 (over the cap)", 10, False, duration=3600),
    Case("3600 s under a 3600 s cap (policy v4)", 10, True, duration=3600, policy=LONG_CAP),
    Case(
        "everything: 30+15+15+15+10+15+10+5 = 115, capped at 100",
        100,
        False,
        sensitivity="high",
        methods=("DELETE", "POST"),
        duration=3601,
        tier="restricted",
        first_use=True,
        anomalies=9,
        denials=9,
        at=SAT_10,
    ),
    Case("threshold 0 (policy v3): every request waits", 0, False, policy=STRICT),
    Case("unknown sensitivity and tier score as high, restricted", 45, False, "secret", tier="x"),
    Case(
        "medium, 900 s, standard, first use, off-hours: 15+5+5+10+5",
        40,
        False,
        sensitivity="medium",
        duration=900,
        tier="standard",
        first_use=True,
        at=WED_20,
    ),
    Case("60 s, standard, 2 denials: 5 + 10", 15, True, duration=60, tier="standard", denials=2),
]


def _run(c: Case) -> tuple[int, bool, int, tuple[tuple[str, int], ...]]:
    inputs = RiskInputs(
        c.sensitivity,
        c.methods,
        c.duration,
        c.tier,
        c.first_use,
        c.anomalies,
        c.denials,
        c.at,
        c.tool_new,
    )
    a = assess(inputs, c.policy)
    return a.score, a.auto_approve, a.policy_version, tuple((f.name, f.points) for f in a.factors)


def test_the_table_is_large_enough() -> None:
    assert len(CASES) >= 25
    assert len({c.name for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_golden_scenario(case: Case) -> None:
    score, auto, version, factors = _run(case)
    assert (score, auto) == (case.score, case.auto)
    assert version == case.policy.version
    # Every factor is reported, and they add up (before the cap of 100).
    assert [n for n, _ in factors] == [
        "key_sensitivity",
        "write_methods",
        "duration",
        "tool_tier",
        "first_use",
        "recent_anomalies",
        "requester_history",
        "off_hours",
    ]
    assert score == min(100, sum(p for _, p in factors))


def test_same_results_run_after_run() -> None:
    first = [_run(c) for c in CASES]
    for _ in range(20):
        assert [_run(c) for c in reversed(CASES)][::-1] == first
