"""The risk score of an access request: deterministic, 0-100, with each factor's
contribution (docs/approvals.md has the same table).

| Factor | Points |
|---|---|
| key sensitivity | low 0, medium 15, high 30 |
| write methods | 15 when any of POST, PUT, PATCH, DELETE is asked |
| duration | <= 5 min 0, <= 15 min 5, <= 60 min 10, longer 15 |
| tool tier | trusted 0, standard 5, restricted 15 |
| first use | 10 when the requester never used the key |
| recent anomalies | 5 per anomaly episode on the key in 7 days, at most 15 |
| requester history | 5 per request of the requester denied or expired in 30 days, at most 10 |
| off-hours | 5 outside the policy's business hours (UTC) or on Saturday and Sunday |

The score is the sum, at most 100. A request is approved without a human only when
its score is below the policy's threshold AND its duration is within the policy's cap
AND the tool is not new (approved less than ``new_tool_seconds`` ago); anything else
waits for a human. Pure: the same inputs and policy give the same result, always.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from strongroom.approvals.contract import Factor
from strongroom.approvals.models import Policy

SENSITIVITY_POINTS = {"low": 0, "medium": 15, "high": 30}
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
WRITE_POINTS = 15
DURATION_STEPS = ((300, 0), (900, 5), (3600, 10))  # (at most seconds, points)
DURATION_LONGER = 15
TIER_POINTS = {"trusted": 0, "standard": 5, "restricted": 15}
FIRST_USE_POINTS = 10
ANOMALY_EACH, ANOMALY_MAX = 5, 15
DENIAL_EACH, DENIAL_MAX = 5, 10
OFF_HOURS_POINTS = 5
MAX_SCORE = 100


@dataclass(frozen=True)
class RiskInputs:
    sensitivity: str  # low | medium | high (an unknown value scores as high)
    methods: tuple[str, ...]
    duration_seconds: int
    tier: str
    first_use: bool
    anomalies: int
    denials: int  # the requester's denied or expired requests in the last 30 days
    at: datetime  # when asked (UTC)
    tool_new: bool


@dataclass(frozen=True)
class Assessment:
    score: int
    factors: tuple[Factor, ...]
    auto_approve: bool
    policy_version: int


def _duration(seconds: int) -> int:
    for limit, points in DURATION_STEPS:
        if seconds <= limit:
            return points
    return DURATION_LONGER


def off_hours(at: datetime, policy: Policy) -> bool:
    return at.weekday() >= 5 or not (
        policy.business_start_hour <= at.hour < policy.business_end_hour
    )


def assess(i: RiskInputs, policy: Policy) -> Assessment:
    sensitivity = i.sensitivity if i.sensitivity in SENSITIVITY_POINTS else "high"
    writes = sorted(set(i.methods) & WRITE_METHODS)
    tier = i.tier if i.tier in TIER_POINTS else "restricted"
    late = off_hours(i.at, policy)
    factors = (
        Factor(
            "key_sensitivity", SENSITIVITY_POINTS[sensitivity], f"key sensitivity {sensitivity}"
        ),
        Factor(
            "write_methods",
            WRITE_POINTS if writes else 0,
            "writes: " + (",".join(writes) or "none"),
        ),
        Factor("duration", _duration(i.duration_seconds), f"{i.duration_seconds} s asked"),
        Factor("tool_tier", TIER_POINTS[tier], f"tool tier {tier}"),
        Factor(
            "first_use",
            FIRST_USE_POINTS if i.first_use else 0,
            "first use" if i.first_use else "used before",
        ),
        Factor(
            "recent_anomalies",
            min(ANOMALY_MAX, ANOMALY_EACH * max(0, i.anomalies)),
            f"{max(0, i.anomalies)} in 7 days",
        ),
        Factor(
            "requester_history",
            min(DENIAL_MAX, DENIAL_EACH * max(0, i.denials)),
            f"{max(0, i.denials)} denied or expired in 30 days",
        ),
        Factor(
            "off_hours", OFF_HOURS_POINTS if late else 0, "off-hours" if late else "business hours"
        ),
    )
    score = min(MAX_SCORE, sum(f.points for f in factors))
    auto = (
        score < policy.threshold
        and i.duration_seconds <= policy.duration_cap_seconds
        and not i.tool_new
    )
    return Assessment(score, factors, auto, policy.version)
