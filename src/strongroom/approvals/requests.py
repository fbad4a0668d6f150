"""Access requests: an agent asks for a stored key (tool, key, hosts, methods,
duration, purpose); the tool is checked, the request scored (approvals/risk.py) and
recorded; the policy approves it at once or it waits for a human
(approvals/decisions.py). Every record of it carries its id (the correlation id).
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

from strongroom.approvals import reach
from strongroom.approvals.contract import (
    AccessAsk,
    AnomalyFacts,
    KeyFacts,
    RequestStatus,
    RequestView,
)
from strongroom.approvals.decisions import Decisions
from strongroom.approvals.digest import ask_digest
from strongroom.approvals.errors import RequestNotFound
from strongroom.approvals.policy import Policies
from strongroom.approvals.records import event, view, well_formed
from strongroom.approvals.risk import RiskInputs, assess
from strongroom.approvals.tools import ToolRegistry
from strongroom.audit.actions import ApprovalAction
from strongroom.audit.interfaces import AuditSink
from strongroom.audit.models import Outcome
from strongroom.context import Actor
from strongroom.errors import InvalidInput, StrongroomError
from strongroom.store import approvals_repo as repo
from strongroom.store.db import Database
from strongroom.store.models import McpRequest

HISTORY = timedelta(days=30)
NAME_MAX = 128


def new_id() -> str:
    return secrets.token_hex(16)


def _names(ask: AccessAsk) -> None:
    reach.text(ask.project, ask.key, ask.purpose, ask.tool.name, ask.tool.client_id)
    for field, value in (("project", ask.project), ("key", ask.key)):
        if not 1 <= len(value) <= NAME_MAX:
            raise InvalidInput("name length", field=field)
    if not 1 <= len(ask.purpose) <= 500:
        raise InvalidInput("purpose: 1 to 500 characters", field="purpose")


class AccessRequestService:
    def __init__(
        self,
        db: Database,
        audit: AuditSink,
        tools: ToolRegistry,
        policies: Policies,
        keys: KeyFacts,
        anomalies: AnomalyFacts,
        approval_url: str | None,
    ) -> None:
        self._db, self._audit, self._tools, self.policies = db, audit, tools, policies
        self.keys, self.anomalies, self.approval_url = keys, anomalies, approval_url
        self._decisions = Decisions(db, audit, approval_url)

    async def decide(
        self, actor: Actor, request_id: str, approve: bool, reason: str, digest: str
    ) -> RequestView:
        """Approve or deny a pending request (approvals/decisions.py)."""
        return await self._decisions.decide(actor, request_id, approve, reason, digest)

    async def expire_due(self, now: datetime, rid: str) -> int:
        return await self._decisions.expire_due(now, rid)

    async def create(self, actor: Actor, ask: AccessAsk) -> RequestView:
        rid = new_id()
        _names(ask)
        hosts = reach.hosts(ask.hosts, wildcards=False)
        methods = reach.methods(ask.methods)
        policy = await self.policies.current(actor.tenant)
        if not 60 <= ask.duration_seconds <= policy.session_max_seconds:
            raise InvalidInput(
                "duration beyond the policy",
                field="durationSeconds",
                minimum=60,
                maximum=policy.session_max_seconds,
            )
        try:
            tool = await self._tools.check(actor, ask.tool, hosts, methods, rid)
        except StrongroomError as exc:  # unregistered, changed schema, not approved, reach
            refused = event(
                actor,
                ApprovalAction.REQUEST,
                Outcome.DENIED,
                rid,
                code=exc.code,
                tool=ask.tool.name,
            )
            await self._audit.append(refused)
            raise
        now = datetime.now(UTC)
        t = actor.tenant
        sensitivity = await self.keys.sensitivity(t, ask.project, ask.key)
        anomalies = await self.anomalies.recent_anomalies(t, ask.project, ask.key)
        first = await self.anomalies.first_use(t, ask.project, ask.key, actor.principal)
        async with self._db.read() as s:
            denials = await repo.denials_since(s, t, actor.principal, now - HISTORY)
        tool_new = now - tool.updated_at < timedelta(seconds=policy.new_tool_seconds)
        risk = assess(
            RiskInputs(
                sensitivity,
                methods,
                ask.duration_seconds,
                tool.tier.value,
                first,
                anomalies,
                denials,
                now,
                tool_new,
            ),
            policy,
        )
        status = RequestStatus.APPROVED if risk.auto_approve else RequestStatus.PENDING
        row = McpRequest(
            id=rid,
            tenant_id=t,
            tool_id=tool.id,
            tool_name=tool.name,
            client_id=tool.client_id,
            schema_sha256=tool.schema_sha256,
            project=ask.project,
            key_name=ask.key,
            hosts=list(hosts),
            methods=list(methods),
            duration_seconds=ask.duration_seconds,
            purpose=ask.purpose,
            requester=actor.principal,
            status=status.value,
            score=risk.score,
            factors=[{"name": f.name, "points": f.points, "why": f.why} for f in risk.factors],
            policy_version=policy.version,
            approvals_needed=2 if policy.second_approver else 1,
            digest=ask_digest(
                tool.name,
                tool.client_id,
                ask.project,
                ask.key,
                hosts,
                methods,
                ask.duration_seconds,
            ),
            created_at=now,
            expires_at=now + timedelta(seconds=policy.pending_expiry_seconds),
            decided_at=now if risk.auto_approve else None,
            session_id=None,
        )
        asked = event(
            actor,
            ApprovalAction.REQUEST,
            Outcome.SUCCESS,
            rid,
            tool=tool.name,
            toolId=tool.id,
            project=ask.project,
            key=ask.key,
            hosts=list(hosts),
            methods=list(methods),
            durationSeconds=ask.duration_seconds,
        )
        scored = event(
            actor,
            ApprovalAction.SCORE,
            Outcome.SUCCESS,
            rid,
            score=risk.score,
            factors=row.factors,
            policyVersion=policy.version,
            decision="auto-approved" if risk.auto_approve else "pending",
            digest=row.digest,
        )
        async with self._db.transaction() as s:
            s.add(row)
            self._audit.record_in(s, asked)
            self._audit.record_in(s, scored)
            if risk.auto_approve:
                approved = event(
                    actor,
                    ApprovalAction.APPROVE,
                    Outcome.SUCCESS,
                    rid,
                    auto=True,
                    digest=row.digest,
                )
                self._audit.record_in(s, approved)
        return view(row, self.approval_url, now)

    async def get(
        self, actor: Actor, request_id: str, *, requester: str | None = None
    ) -> RequestView:
        """The request in ``actor``'s tenant (only ``requester``'s when given: a
        request of another answers like a missing one)."""
        if not well_formed(request_id):
            raise RequestNotFound()
        async with self._db.read() as s:
            row = await repo.request(s, actor.tenant, request_id)
        if row is None or (requester is not None and row.requester != requester):
            raise RequestNotFound()
        return view(row, self.approval_url)

    async def list_pending(
        self, tenant: str, limit: int, after: str | None
    ) -> tuple[list[RequestView], str | None]:
        """Pending requests (those past their deadline are left out), ordered by id."""
        now = datetime.now(UTC)
        async with self._db.read() as s:
            rows = await repo.pending(s, tenant, limit + 1, after)
        views = [view(r, self.approval_url, now) for r in rows[:limit]]
        live = [v for v in views if v.status is RequestStatus.PENDING]
        return live, (rows[limit - 1].id if len(rows) > limit else None)
