"""The approvals domain through its services, on SQLite and PostgreSQL (the serving
role under row-level security): the tool registry, scoring and auto-approval, human
decisions enforced on the server, expiry, sessions and proxy tokens. Every refusal
has its stable code and leaves a record."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from strongroom.approvals.contract import RequestStatus
from strongroom.approvals.errors import (
    AlreadyDecided,
    DigestMismatch,
    OutsideGrant,
    OutsideToolReach,
    RequestExpired,
    RequestNotApproved,
    RequestNotFound,
    RequestNotPending,
    SelfApproval,
    SessionNotFound,
    TokenExhausted,
    TokenExpired,
    TokenRefused,
    TokenRevoked,
    ToolExists,
    ToolNotApproved,
    ToolNotRegistered,
    ToolSchemaChanged,
)
from strongroom.approvals.models import NewTool, ToolStatus
from strongroom.errors import InvalidInput
from strongroom.store import approvals_repo
from strongroom.store.models import AuditRecord, McpProxyToken, McpRequest, McpSession
from tests.api.approvals_helpers import (
    ADMIN,
    AGENT,
    APPROVER,
    APPROVER_2,
    SCHEMA_SHA,
    Facts,
    approved_tool,
    ask,
    policy,
    trail,
    wire,
)
from tests.api.conftest import App

OTHER = dataclasses.replace(AGENT, principal="agent-2")


async def test_tool_registry_and_refusals(app: App) -> None:
    approvals, _ = wire(app)
    await policy(approvals)
    tool = await approvals.tools.register(
        ADMIN, NewTool("fetcher", "client-1", SCHEMA_SHA, ("api.example.com",), ("get",))
    )
    assert (tool.status, tool.methods) == (ToolStatus.PENDING, ("GET",))
    assert tool.annotations is None
    with pytest.raises(ToolExists):
        await approvals.tools.register(
            ADMIN, NewTool("fetcher", "client-1", SCHEMA_SHA, ("a.example",), ("GET",))
        )
    with pytest.raises(ToolNotApproved):
        await approvals.requests.create(AGENT, ask())
    with pytest.raises(ToolNotRegistered):
        await approvals.requests.create(AGENT, ask(tool="nobody"))
    await approvals.tools.approve(ADMIN, tool.id)
    with pytest.raises(OutsideToolReach):
        await approvals.requests.create(AGENT, ask(hosts=("evil.example.net",)))
    with pytest.raises(OutsideToolReach):
        await approvals.requests.create(AGENT, ask(methods=("DELETE",)))
    # A changed schema suspends the tool until an admin re-approves it.
    changed = "ab" * 32
    with pytest.raises(ToolSchemaChanged):
        await approvals.requests.create(AGENT, ask(sha=changed))
    now = await approvals.tools.get("default", tool.id)
    assert (now.status, now.status_reason, now.observed_sha256) == (
        ToolStatus.SUSPENDED,
        "schema-changed",
        changed,
    )
    with pytest.raises(ToolSchemaChanged):  # the old schema no longer passes either
        await approvals.requests.create(AGENT, ask(sha=changed))
    with pytest.raises(ToolNotApproved):
        await approvals.requests.create(AGENT, ask())
    again = await approvals.tools.approve(ADMIN, tool.id, changed)
    assert (again.status, again.schema_sha256, again.observed_sha256) == (
        ToolStatus.APPROVED,
        changed,
        None,
    )
    assert (await approvals.requests.create(AGENT, ask(sha=changed))).status is not None
    await app.services.alerts.drain()
    async with app.services.db.read() as s:
        q = select(AuditRecord.action, AuditRecord.outcome, AuditRecord.detail)
        rows = (await s.execute(q)).all()
    actions = [r.action for r in rows]
    # Suspended, recorded and alarmed once for the schema it kept presenting.
    assert actions.count("security.mcp.tool_schema_changed") == 1
    assert actions.count("mcp.tool.suspend") == 1
    refused = [
        r.detail["code"] for r in rows if r.action == "mcp.request.create" and r.outcome == "denied"
    ]
    assert refused == ["APR003", "APR001", "APR004", "APR004", "APR002", "APR002", "APR003"]


async def test_low_risk_is_approved_and_a_session_works(app: App) -> None:
    approvals, _ = wire(app)
    await policy(approvals)
    await approved_tool(approvals)
    view = await approvals.requests.create(AGENT, ask())
    assert view.status is RequestStatus.APPROVED
    points = {f.name: f.points for f in view.factors}
    # standard tier 5 + first use 10 (+ off-hours 5, depending on when this runs)
    assert view.score == 15 + points["off_hours"]
    assert (view.policy_version, view.approval_url) == (1, None)
    opened = await approvals.sessions.open(AGENT, view.request_id)
    assert opened.proxy_token.startswith("srp_") and len(opened.proxy_token) == 47
    assert opened.proxy_token not in repr(opened)
    grant = await approvals.sessions.verify(
        AGENT, opened.proxy_token, host="API.example.com", method="get"
    )
    assert (grant.key, grant.hosts, grant.methods, grant.principal) == (
        "stripe",
        ("api.example.com",),
        ("GET",),
        "agent-1",
    )
    with pytest.raises(RequestNotApproved):  # the approval opens one session only
        await approvals.sessions.open(AGENT, view.request_id)
    with pytest.raises(RequestNotFound):  # another principal cannot open it
        await approvals.sessions.open(OTHER, view.request_id)
    with pytest.raises(TokenRefused):  # the token with another principal's credentials
        await approvals.sessions.verify(
            OTHER, opened.proxy_token, host="api.example.com", method="GET"
        )
    with pytest.raises(TokenRefused):
        await approvals.sessions.verify(
            AGENT, "srp_" + "x" * 43, host="api.example.com", method="GET"
        )
    with pytest.raises(OutsideGrant):
        await approvals.sessions.verify(
            AGENT, opened.proxy_token, host="x.example.org", method="GET"
        )
    with pytest.raises(OutsideGrant):
        await approvals.sessions.verify(
            AGENT, opened.proxy_token, host="api.example.com", method="POST"
        )
    # Malformed ids name nothing (and never reach the database: a NUL there is 503).
    for bad in ("x\x00", "A" * 32, view.request_id + "0"):
        with pytest.raises(RequestNotFound):
            await approvals.requests.get(AGENT, bad)
        with pytest.raises(RequestNotFound):
            await approvals.sessions.open(AGENT, bad)
        with pytest.raises(SessionNotFound):
            await approvals.sessions.revoke(AGENT, bad, own_only=False)
    await approvals.sessions.revoke(AGENT, opened.session_id, own_only=True)
    with pytest.raises(TokenRevoked):
        await approvals.sessions.verify(
            AGENT, opened.proxy_token, host="api.example.com", method="GET"
        )
    # Only the token's hash is stored.
    async with app.services.db.read() as s:
        hashes = (await s.execute(select(McpProxyToken.token_hash))).scalars().all()
    assert opened.proxy_token not in hashes and len(hashes) == 1


async def test_expired_and_used_up_tokens(app: App) -> None:
    approvals, facts = wire(app)
    facts.used.add(("stripe", "agent-1"))
    await policy(approvals)
    await approved_tool(approvals)
    first = await approvals.requests.create(AGENT, ask())
    limited = await approvals.sessions.open(AGENT, first.request_id, max_uses=1)
    await approvals.sessions.verify(
        AGENT, limited.proxy_token, host="api.example.com", method="GET"
    )
    with pytest.raises(TokenExhausted):
        await approvals.sessions.verify(
            AGENT, limited.proxy_token, host="api.example.com", method="GET"
        )
    second = await approvals.requests.create(AGENT, ask())
    opened = await approvals.sessions.open(AGENT, second.request_id)
    past = datetime.now(UTC) - timedelta(seconds=1)
    async with app.services.db.transaction() as s:
        await s.execute(
            update(McpSession).where(McpSession.id == opened.session_id).values(expires_at=past)
        )
    with pytest.raises(TokenExpired):
        await approvals.sessions.verify(
            AGENT, opened.proxy_token, host="api.example.com", method="GET"
        )


async def test_human_approval_is_enforced_on_the_server(app: App) -> None:
    approvals, _ = wire(app, Facts({"prod": "high"}))
    await policy(approvals)
    await approved_tool(approvals)
    view = await approvals.requests.create(AGENT, ask("prod", methods=("POST",)))
    assert view.status is RequestStatus.PENDING and view.score >= 30
    assert view.approval_url == f"/approvals/{view.request_id}"
    with pytest.raises(RequestNotApproved):
        await approvals.sessions.open(AGENT, view.request_id)
    async with app.services.db.read() as s:
        row = await approvals_repo.request(s, "default", view.request_id)
        assert row is not None
        digest = row.digest
    with pytest.raises(SelfApproval):
        await approvals.requests.decide(AGENT, view.request_id, True, "", digest)
    # An approval of exactly this ask, replayed for other hosts or a longer duration.
    wider = await approvals.requests.create(
        AGENT, ask("prod", ("api.example.com", "a.example.org"), ("POST",))
    )
    longer = await approvals.requests.create(AGENT, ask("prod", methods=("POST",), duration=600))
    for other in (wider, longer):
        with pytest.raises(DigestMismatch):
            await approvals.requests.decide(APPROVER, other.request_id, True, "", digest)
    with pytest.raises(InvalidInput):  # a denial gives its reason
        await approvals.requests.decide(APPROVER, wider.request_id, False, " ", digest)
    done = await approvals.requests.decide(APPROVER, view.request_id, True, "ok", digest)
    assert done.status is RequestStatus.APPROVED
    with pytest.raises(RequestNotPending):  # single-use
        await approvals.requests.decide(APPROVER_2, view.request_id, True, "", digest)
    assert (await approvals.sessions.open(AGENT, view.request_id)).proxy_token.startswith("srp_")
    assert (await approvals.requests.get(AGENT, wider.request_id)).status is RequestStatus.PENDING
    pending = {
        v.request_id for v in (await approvals.requests.list_pending("default", 10, None))[0]
    }
    assert pending == {wider.request_id, longer.request_id}
    records = await trail(app, wider.request_id)
    assert ("mcp.request.approve", "denied", "APR008") in [
        (r.action, r.outcome, (r.detail or {}).get("code")) for r in records
    ]


async def test_second_approver_and_denial(app: App) -> None:
    approvals, _ = wire(app, Facts({"prod": "high"}))
    await policy(approvals, second_approver=True)
    await approved_tool(approvals)
    view = await approvals.requests.create(AGENT, ask("prod"))
    async with app.services.db.read() as s:
        row = await approvals_repo.request(s, "default", view.request_id)
        assert row is not None and row.approvals_needed == 2
        digest = row.digest
    one = await approvals.requests.decide(APPROVER, view.request_id, True, "", digest)
    assert one.status is RequestStatus.PENDING
    with pytest.raises(AlreadyDecided):
        await approvals.requests.decide(APPROVER, view.request_id, True, "", digest)
    two = await approvals.requests.decide(APPROVER_2, view.request_id, True, "", digest)
    assert two.status is RequestStatus.APPROVED
    other = await approvals.requests.create(AGENT, ask("prod"))
    denied = await approvals.requests.decide(APPROVER, other.request_id, False, "no", digest)
    assert denied.status is RequestStatus.DENIED
    # A denial counts in the requester's history (5 points) for its next request.
    later = await approvals.requests.create(AGENT, ask("prod"))
    history = {f.name: f.points for f in later.factors}["requester_history"]
    assert history == 5


async def test_pending_requests_expire_as_denials(app: App) -> None:
    approvals, _ = wire(app, Facts({"prod": "high"}))
    await policy(approvals, pending_expiry_seconds=60)
    await approved_tool(approvals)
    swept = await approvals.requests.create(AGENT, ask("prod"))
    late = await approvals.requests.create(AGENT, ask("prod", duration=400))
    assert await approvals.requests.expire_due(datetime.now(UTC), "rid-job") == 0
    future = datetime.now(UTC) + timedelta(seconds=61)
    async with app.services.db.transaction() as s:
        await s.execute(
            update(McpRequest)
            .where(McpRequest.id == late.request_id)
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    assert (await approvals.requests.get(AGENT, late.request_id)).status is RequestStatus.EXPIRED
    async with app.services.db.read() as s:
        row = await approvals_repo.request(s, "default", late.request_id)
        assert row is not None
    with pytest.raises(RequestExpired):  # found late by a decision: expired, recorded
        await approvals.requests.decide(APPROVER, late.request_id, True, "", row.digest)
    assert await approvals.requests.expire_due(future, "rid-job") == 1  # the other one
    assert await approvals.requests.expire_due(future, "rid-job") == 0  # once
    for r in (swept, late):
        assert (await approvals.requests.get(AGENT, r.request_id)).status is RequestStatus.EXPIRED
        expired = [x for x in await trail(app, r.request_id) if x.action == "mcp.request.expire"]
        assert [(x.outcome, x.actor) for x in expired] == [("denied", "system:approvals")]


async def test_the_expiry_job_runs_in_the_cluster_runner(app: App) -> None:
    approvals, _ = wire(app, Facts({"prod": "high"}))
    await policy(approvals)
    await approved_tool(approvals)
    view = await approvals.requests.create(AGENT, ask("prod"))
    async with app.services.db.transaction() as s:
        await s.execute(
            update(McpRequest)
            .where(McpRequest.id == view.request_id)
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    job = app.services.jobs.jobs["approvals.expire"]
    assert job.interval == app.services.settings.approvals.expire_interval_seconds
    assert await job.run_once(datetime.now(UTC)) == 1
    assert (await approvals.requests.get(AGENT, view.request_id)).status is RequestStatus.EXPIRED
