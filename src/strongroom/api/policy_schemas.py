"""Request and response shapes of the MCP approvals policy routes
(``/api/v1/mcp/policy``, api/routers/mcp.py). The bounds are the domain's
(approvals/policy.py ``BOUNDS``), so the document states what the service accepts."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, Field

from strongroom.api.schemas import Strict, _integral, examples
from strongroom.approvals.models import PolicyVersion
from strongroom.approvals.policy import BOUNDS

Integral = BeforeValidator(_integral)
_RANGE = {name: (low, high) for _, name, low, high in BOUNDS}


def _bounded(name: str, description: str) -> object:
    low, high = _RANGE[name]
    return Field(ge=low, le=high, description=description)


_POLICY = {
    "version": 3,
    "threshold": 30,
    "durationCapSeconds": 900,
    "secondApprover": False,
    "pendingExpirySeconds": 86400,
    "sessionMaxSeconds": 3600,
    "businessStartHour": 8,
    "businessEndHour": 18,
    "newToolSeconds": 86400,
    "createdAt": "2026-12-03T10:00:00Z",
    "createdBy": "admin",
}
_DEFAULT = {**_POLICY, "version": 0, "createdAt": None, "createdBy": None}


class PolicyChange(Strict):
    """A new version: the fields given replace the current version's, the others
    (absent or null) keep their current values."""

    model_config = examples(
        {"threshold": 20, "expectedVersion": 3},
        {k: v for k, v in _POLICY.items() if k not in ("version", "createdAt", "createdBy")},
    )
    threshold: Annotated[
        int | None,
        _bounded("threshold", "A request scoring below this may be approved at once (0: none)"),
        Integral,
    ] = None
    durationCapSeconds: Annotated[
        int | None,
        _bounded("durationCapSeconds", "The longest session approved without a human"),
        Integral,
    ] = None
    secondApprover: bool | None = Field(
        default=None, description="A pending request needs two different approvers"
    )
    pendingExpirySeconds: Annotated[
        int | None,
        _bounded("pendingExpirySeconds", "An undecided request expires (a denial) after this"),
        Integral,
    ] = None
    sessionMaxSeconds: Annotated[
        int | None, _bounded("sessionMaxSeconds", "The longest session (hard TTL)"), Integral
    ] = None
    businessStartHour: Annotated[
        int | None, _bounded("businessStartHour", "Business hours start (UTC hour)"), Integral
    ] = None
    businessEndHour: Annotated[
        int | None,
        _bounded("businessEndHour", "Business hours end (UTC hour, exclusive; after the start)"),
        Integral,
    ] = None
    newToolSeconds: Annotated[
        int | None,
        _bounded("newToolSeconds", "A tool approved less than this long ago is new (0: never)"),
        Integral,
    ] = None
    expectedVersion: Annotated[
        int | None,
        Field(ge=0, le=2**31 - 1, description="Check-and-set: 409 APR020 unless it is current"),
        Integral,
    ] = None

    def changes(self) -> dict[str, int | bool]:
        """The policy fields given (not expectedVersion)."""
        return self.model_dump(exclude_none=True, exclude={"expectedVersion"})


class PolicyOut(BaseModel):
    model_config = examples(_POLICY, _DEFAULT)
    version: int = Field(description="0: the configured default (never stored)")
    threshold: int
    durationCapSeconds: int
    secondApprover: bool
    pendingExpirySeconds: int
    sessionMaxSeconds: int
    businessStartHour: int
    businessEndHour: int
    newToolSeconds: int
    createdAt: datetime | None
    createdBy: str | None

    @classmethod
    def of(cls, v: PolicyVersion) -> PolicyOut:
        p = v.policy
        return cls(
            version=p.version,
            threshold=p.threshold,
            durationCapSeconds=p.duration_cap_seconds,
            secondApprover=p.second_approver,
            pendingExpirySeconds=p.pending_expiry_seconds,
            sessionMaxSeconds=p.session_max_seconds,
            businessStartHour=p.business_start_hour,
            businessEndHour=p.business_end_hour,
            newToolSeconds=p.new_tool_seconds,
            createdAt=v.created_at,
            createdBy=v.created_by,
        )


class PolicyPage(BaseModel):
    model_config = examples({"versions": [_POLICY], "nextCursor": None})
    versions: list[PolicyOut]
    nextCursor: int | None
