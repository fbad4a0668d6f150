"""What the tools answer: pydantic models (their JSON Schema is each tool's
``outputSchema``) and the one shape of a refusal. Nothing here can hold a stored key's
value: a ``KeySummary`` has none, and an upstream answer arrives already scrubbed by
the broker."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any

from mcp.types import CallToolResult, TextContent
from pydantic import BaseModel, ConfigDict, Field

from strongroom.approvals.contract import OpenedSession, RequestView
from strongroom.credentials.contract import Answer, KeySummary
from strongroom.errors import StrongroomError


class Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class KeyOut(Out):
    project: str
    name: str
    provider: str
    hosts: list[str]
    tags: dict[str, str]
    state: str
    sensitivity: str
    expires_at: datetime | None


class KeysOut(Out):
    keys: list[KeyOut]


class FactorOut(Out):
    name: str
    points: int
    why: str


class SessionOut(Out):
    session_id: str
    proxy_token: str | None = Field(
        default=None,
        description="srp_…: shown once, when the session opens; send it with call_upstream",
    )
    expires_at: datetime | None = None


class RequestOut(Out):
    request_id: str
    status: str
    score: int
    factors: list[FactorOut]
    policy_version: int
    expires_at: datetime
    approval_url: str | None = Field(
        default=None, description="where a human approves it (pending)"
    )
    session: SessionOut | None = None


class UpstreamOut(Out):
    status: int
    headers: list[tuple[str, str]]
    body: str | None = Field(default=None, description="the body, when it is UTF-8 text")
    body_base64: str | None = None


class RevokedOut(Out):
    session_id: str
    revoked: bool = True


def key_out(k: KeySummary) -> KeyOut:
    return KeyOut(
        project=k.project,
        name=k.name,
        provider=k.provider,
        hosts=list(k.hosts),
        tags=dict(k.tags),
        state=str(k.state),
        sensitivity=str(k.sensitivity),
        expires_at=k.expires_at,
    )


def request_out(v: RequestView, opened: OpenedSession | None = None) -> RequestOut:
    session = None
    if opened is not None:
        session = SessionOut(
            session_id=opened.session_id,
            proxy_token=opened.proxy_token,
            expires_at=opened.expires_at,
        )
    elif v.session_id is not None:
        session = SessionOut(session_id=v.session_id)
    return RequestOut(
        request_id=v.request_id,
        status=str(v.status),
        score=v.score,
        factors=[FactorOut(name=f.name, points=f.points, why=f.why) for f in v.factors],
        policy_version=v.policy_version,
        expires_at=v.expires_at,
        approval_url=v.approval_url if str(v.status) == "pending" else None,
        session=session,
    )


def upstream_out(a: Answer) -> UpstreamOut:
    try:
        return UpstreamOut(status=a.status, headers=list(a.headers), body=a.body.decode("utf-8"))
    except UnicodeDecodeError:
        encoded = base64.b64encode(a.body).decode("ascii")
        return UpstreamOut(status=a.status, headers=list(a.headers), body_base64=encoded)


def ok(model: Out) -> CallToolResult:
    data = model.model_dump(mode="json")
    return CallToolResult(
        content=[TextContent(type="text", text=json.dumps(data, separators=(",", ":")))],
        structured_content=data,
    )


def refused(exc: StrongroomError) -> CallToolResult:
    """A refusal as the REST API words it: the stable code and the fixed message (never
    the input); ``detail`` carries only non-sensitive structure (errors.py)."""
    error: dict[str, Any] = {"code": exc.code, "message": exc.text}
    if exc.detail:
        error["details"] = json.loads(json.dumps(exc.detail, default=str))
    body = {"success": False, "error": error}
    return CallToolResult(
        content=[TextContent(type="text", text=json.dumps(body, separators=(",", ":")))],
        structured_content=body,
        is_error=True,
    )
