"""One MCP access flow reconstructed end to end from the audit trail alone: every step
(requested, scored with its factors, approved by a human, session opened, token used,
session revoked) carries the access request's id as its correlation id, and together
they say who asked for what, how it scored, who approved it and what the session did.
No proxy token appears in any record."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from strongroom.store import approvals_repo
from strongroom.store.models import AuditRecord
from tests.api.approvals_helpers import AGENT, APPROVER, Facts, approved_tool, ask, policy, wire
from tests.api.conftest import App


async def _flow(app: App) -> tuple[str, str]:
    approvals, _ = wire(app, Facts({"prod": "high"}))
    await policy(approvals)
    await approved_tool(approvals)
    view = await approvals.requests.create(AGENT, ask("prod", methods=("GET", "POST")))
    async with app.services.db.read() as s:
        row = await approvals_repo.request(s, "default", view.request_id)
        assert row is not None
    await approvals.requests.decide(APPROVER, view.request_id, True, "looks fine", row.digest)
    opened = await approvals.sessions.open(AGENT, view.request_id)
    await approvals.sessions.verify(
        AGENT, opened.proxy_token, host="api.example.com", method="POST"
    )
    await approvals.sessions.revoke(APPROVER, opened.session_id, own_only=False)
    return view.request_id, opened.proxy_token


async def test_one_flow_from_the_trail_alone(app: App) -> None:
    request_id, token = await _flow(app)
    async with app.services.db.read() as s:
        every = list((await s.execute(select(AuditRecord).order_by(AuditRecord.id))).scalars())
    # Everything below reads only the trail.
    flow = [r for r in every if (r.detail or {}).get("correlationId") == request_id]
    assert [r.action for r in flow] == [
        "mcp.request.create",
        "mcp.request.score",
        "mcp.request.approve",
        "mcp.session.open",
        "mcp.token.use",
        "mcp.session.revoke",
    ]
    assert all(r.target == request_id and r.outcome == "success" for r in flow)
    details: list[dict[str, Any]] = [dict(r.detail or {}) for r in flow]
    asked, scored, approved, opened, used, revoked = details
    assert flow[0].actor == "agent-1"
    assert (asked["tool"], asked["project"], asked["key"]) == ("fetcher", "payments", "prod")
    assert (asked["hosts"], asked["methods"], asked["durationSeconds"]) == (
        ["api.example.com"],
        ["GET", "POST"],
        300,
    )
    factors = {f["name"]: f["points"] for f in scored["factors"]}
    assert scored["score"] == sum(factors.values())
    assert (factors["key_sensitivity"], factors["write_methods"]) == (30, 15)
    assert (scored["decision"], scored["policyVersion"]) == ("pending", 1)
    # A human other than the requester approved exactly what was scored.
    assert flow[2].actor == "approver-1" != flow[0].actor
    assert approved["auto"] is False and approved["final"] is True
    assert approved["digest"] == scored["digest"]
    assert "looks fine" not in json.dumps(approved) and "reason" in approved["hmac"]
    assert flow[3].actor == "agent-1"
    assert used["sessionId"] == opened["sessionId"] == revoked["sessionId"]
    assert (used["host"], used["method"]) == ("api.example.com", "POST")
    assert flow[5].actor == "approver-1" and revoked["owner"] == "agent-1"
    # The token never reaches the trail (only the session's id does).
    assert not any(token in json.dumps(r.detail or {}) + (r.target or "") for r in every)
