"""Request and response shapes of the MCP approvals routes (api/routers/mcp.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from strongroom.api.schemas import Strict, _integral, examples
from strongroom.approvals.contract import RequestView
from strongroom.approvals.digest import of_ask
from strongroom.approvals.models import ToolView

Integral = BeforeValidator(_integral)
Name = Annotated[str, StringConstraints(min_length=1, max_length=128)]
ClientId = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-fA-F]{64}$")]
# approvals/reach.py HOST, either case (the service lower-cases): a pattern may start
# with "*." (a tool's reach), a request names hosts.
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_NAME = rf"{_LABEL}(?:\.{_LABEL})*(?::[0-9]{{1,5}})?$"
HostPattern = Annotated[str, StringConstraints(max_length=253, pattern=rf"^(?:\*\.)?{_NAME}")]
Host = Annotated[str, StringConstraints(max_length=253, pattern=rf"^{_NAME}")]
Method = Literal["GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"]
Reason = Annotated[str, StringConstraints(max_length=500)]
_SHA = "3f" * 32
_AT = "2026-12-03T10:00:00Z"
_TOOL = {
    "id": 1,
    "name": "fetch_invoices",
    "clientId": "claude-desktop",
    "schemaSha256": _SHA,
    "observedSha256": None,
    "hosts": ["api.stripe.com"],
    "methods": ["GET"],
    "tier": "standard",
    "status": "approved",
    "statusReason": None,
    "annotations": {"readOnlyHint": True},
    "createdAt": _AT,
    "createdBy": "admin",
    "updatedAt": _AT,
    "updatedBy": "admin",
}
_FACTORS = [
    {"name": "key_sensitivity", "points": 15, "why": "key sensitivity medium"},
    {"name": "write_methods", "points": 0, "why": "writes: none"},
    {"name": "duration", "points": 5, "why": "600 s asked"},
    {"name": "tool_tier", "points": 5, "why": "tool tier standard"},
    {"name": "first_use", "points": 10, "why": "first use"},
    {"name": "recent_anomalies", "points": 0, "why": "0 in 7 days"},
    {"name": "requester_history", "points": 0, "why": "0 denied or expired in 30 days"},
    {"name": "off_hours", "points": 0, "why": "business hours"},
]
_REQUEST = {
    "id": "5f" * 16,
    "status": "pending",
    "score": 35,
    "factors": _FACTORS,
    "policyVersion": 0,
    "digest": "9a" * 32,
    "tool": "fetch_invoices",
    "clientId": "claude-desktop",
    "project": "payments",
    "key": "stripe",
    "hosts": ["api.stripe.com"],
    "methods": ["GET"],
    "durationSeconds": 600,
    "purpose": "read last month's invoices",
    "requester": "agent-7",
    "createdAt": _AT,
    "expiresAt": "2026-12-04T10:00:00Z",
    "approvalUrl": "/approvals/" + "5f" * 16,
    "sessionId": None,
}


class RegisterToolRequest(Strict):
    model_config = ConfigDict(
        strict=True,
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "fetch_invoices",
                    "clientId": "claude-desktop",
                    "schemaSha256": _SHA,
                    "hosts": ["api.stripe.com"],
                    "methods": ["GET"],
                    "tier": "standard",
                }
            ],
            # Exactly one of them (checked below as well).
            "oneOf": [
                {"required": ["schemaSha256"], "properties": {"schemaSha256": {"type": "string"}}},
                {"required": ["inputSchema"], "properties": {"inputSchema": {"type": "object"}}},
            ],
        },
    )
    name: Name
    clientId: ClientId
    schemaSha256: Sha256 | None = Field(
        default=None, description="SHA-256 of the canonical input schema (or give inputSchema)"
    )
    inputSchema: dict[str, Any] | None = Field(
        default=None, description="The input schema itself; its canonical SHA-256 is pinned"
    )
    hosts: Annotated[list[HostPattern], Field(min_length=1, max_length=20)]
    methods: Annotated[list[Method], Field(min_length=1, max_length=7)]
    tier: Literal["trusted", "standard", "restricted"] = "standard"
    annotations: dict[str, Any] | None = Field(
        default=None, description="The tool's own claims (readOnlyHint, ...): hints only"
    )

    @model_validator(mode="after")
    def _one_schema(self) -> RegisterToolRequest:
        if (self.schemaSha256 is None) == (self.inputSchema is None):
            raise ValueError("give either schemaSha256 or inputSchema")
        return self


class ApproveToolRequest(Strict):
    model_config = examples({}, {"schemaSha256": _SHA})
    schemaSha256: Sha256 | None = Field(
        default=None, description="Pin this schema (the one the tool presented since)"
    )


class ToolOut(BaseModel):
    model_config = examples(_TOOL)
    id: int
    name: str
    clientId: str
    schemaSha256: str
    observedSha256: str | None
    hosts: list[str]
    methods: list[str]
    tier: str
    status: str
    statusReason: str | None
    annotations: dict[str, Any] | None
    createdAt: datetime
    createdBy: str
    updatedAt: datetime
    updatedBy: str

    @classmethod
    def of(cls, t: ToolView) -> ToolOut:
        return cls(
            id=t.id,
            name=t.name,
            clientId=t.client_id,
            schemaSha256=t.schema_sha256,
            observedSha256=t.observed_sha256,
            hosts=list(t.hosts),
            methods=list(t.methods),
            tier=t.tier.value,
            status=t.status.value,
            statusReason=t.status_reason,
            annotations=t.annotations,
            createdAt=t.created_at,
            createdBy=t.created_by,
            updatedAt=t.updated_at,
            updatedBy=t.updated_by,
        )


class ToolPage(BaseModel):
    model_config = examples({"tools": [_TOOL], "nextCursor": None})
    tools: list[ToolOut]
    nextCursor: int | None


class ToolRef(Strict):
    name: Name
    clientId: ClientId
    schemaSha256: Sha256


class CreateRequestRequest(Strict):
    model_config = examples(
        {
            "tool": {"name": "fetch_invoices", "clientId": "claude-desktop", "schemaSha256": _SHA},
            "project": "payments",
            "key": "stripe",
            "hosts": ["api.stripe.com"],
            "methods": ["GET"],
            "durationSeconds": 600,
            "purpose": "read last month's invoices",
        }
    )
    tool: ToolRef
    project: Name
    key: Name
    hosts: Annotated[list[Host], Field(min_length=1, max_length=20)]
    methods: Annotated[list[Method], Field(min_length=1, max_length=7)]
    durationSeconds: Annotated[int, Field(ge=60, le=86400), Integral]
    purpose: Annotated[str, StringConstraints(min_length=1, max_length=500)]


class DecideRequest(Strict):
    model_config = examples({"digest": _SHA, "reason": "expected work"})
    digest: Sha256 = Field(description="The request's digest: what this decision covers")
    reason: Reason = ""


class DenyRequest(Strict):
    model_config = examples({"digest": _SHA, "reason": "not during the freeze"})
    digest: Sha256
    reason: Annotated[str, StringConstraints(min_length=1, max_length=500, pattern=r"\S")]


class FactorOut(BaseModel):
    model_config = examples(_FACTORS[0])
    name: str
    points: int
    why: str


class RequestOut(BaseModel):
    model_config = examples(_REQUEST)
    id: str
    status: str
    score: int
    factors: list[FactorOut]
    policyVersion: int
    digest: str
    tool: str
    clientId: str
    project: str
    key: str
    hosts: list[str]
    methods: list[str]
    durationSeconds: int
    purpose: str
    requester: str
    createdAt: datetime
    expiresAt: datetime
    approvalUrl: str | None
    sessionId: str | None

    @classmethod
    def of(cls, v: RequestView) -> RequestOut:
        a = v.ask
        return cls(
            id=v.request_id,
            status=v.status.value,
            score=v.score,
            factors=[FactorOut(name=f.name, points=f.points, why=f.why) for f in v.factors],
            policyVersion=v.policy_version,
            digest=of_ask(a),
            tool=a.tool.name,
            clientId=a.tool.client_id,
            project=a.project,
            key=a.key,
            hosts=list(a.hosts),
            methods=list(a.methods),
            durationSeconds=a.duration_seconds,
            purpose=a.purpose,
            requester=v.requester,
            createdAt=v.created_at,
            expiresAt=v.expires_at,
            approvalUrl=v.approval_url,
            sessionId=v.session_id,
        )


class RequestPage(BaseModel):
    model_config = examples({"requests": [_REQUEST], "nextCursor": None})
    requests: list[RequestOut]
    nextCursor: str | None


class RevokedOut(BaseModel):
    model_config = examples({"sessionId": "6e" * 16, "revoked": True})
    sessionId: str
    revoked: bool = True
