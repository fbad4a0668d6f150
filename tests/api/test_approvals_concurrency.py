"""Single use under concurrency: of parallel approvals of one request by different
approvers only one decides it (the rest get ``APR006``); of parallel session opens
exactly one session; of parallel uses of a token with n uses left exactly n pass."""

from __future__ import annotations

import asyncio
import dataclasses

from strongroom.approvals.errors import RequestNotApproved, RequestNotPending, TokenExhausted
from strongroom.store import approvals_repo
from tests.api.approvals_helpers import AGENT, APPROVER, Facts, approved_tool, ask, policy, wire
from tests.api.conftest import App


async def test_decisions_sessions_and_uses_are_single_use(app: App) -> None:
    approvals, _ = wire(app, Facts({"prod": "high"}))
    await policy(approvals)
    await approved_tool(approvals)
    view = await approvals.requests.create(AGENT, ask("prod"))
    async with app.services.db.read() as s:
        row = await approvals_repo.request(s, "default", view.request_id)
        assert row is not None
    approvers = [dataclasses.replace(APPROVER, principal=f"approver-{i}") for i in range(6)]
    results = await asyncio.gather(
        *(approvals.requests.decide(a, view.request_id, True, "r", row.digest) for a in approvers),
        return_exceptions=True,
    )
    decided = [r for r in results if not isinstance(r, BaseException)]
    assert len(decided) == 1, results
    assert all(isinstance(r, RequestNotPending) for r in results if isinstance(r, BaseException))
    assert decided[0].status.value == "approved"
    opens = await asyncio.gather(
        *(approvals.sessions.open(AGENT, view.request_id, max_uses=3) for _ in range(4)),
        return_exceptions=True,
    )
    opened = [o for o in opens if not isinstance(o, BaseException)]
    assert len(opened) == 1 and all(
        isinstance(o, RequestNotApproved) for o in opens if isinstance(o, BaseException)
    )
    token = opened[0].proxy_token
    uses = await asyncio.gather(
        *(
            approvals.sessions.verify(AGENT, token, host="api.example.com", method="GET")
            for _ in range(8)
        ),
        return_exceptions=True,
    )
    assert sum(not isinstance(u, BaseException) for u in uses) == 3
    assert all(isinstance(u, TokenExhausted) for u in uses if isinstance(u, BaseException))
