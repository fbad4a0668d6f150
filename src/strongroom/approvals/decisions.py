"""Human decisions on pending requests, enforced here whatever the edge:

- an approval covers the digest of exactly what was asked (approvals/digest.py): a
  digest of another request (other hosts, methods, key, a longer duration) is refused;
- the requester never decides its own request;
- a decision is single-use: a request leaves ``pending`` once (a conditional update),
  and each approver decides once; with the policy's second approver a request needs
  two different approvers, and one denial ends it;
- a pending request past its deadline is expired, which is a denial (the job
  ``approvals.expire``, or the first decision that finds it late).
Refusals are audited (outcome denied) before they are raised.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.exc import IntegrityError

from strongroom.approvals import reach
from strongroom.approvals.contract import RequestView
from strongroom.approvals.errors import (
    AlreadyDecided,
    DigestMismatch,
    RequestExpired,
    RequestNotFound,
    RequestNotPending,
    SelfApproval,
)
from strongroom.approvals.records import event, view, well_formed
from strongroom.audit.actions import ApprovalAction
from strongroom.audit.interfaces import AuditSink
from strongroom.audit.models import Outcome
from strongroom.context import Actor
from strongroom.errors import InvalidInput, StrongroomError
from strongroom.store import approvals_repo as repo
from strongroom.store.db import Database
from strongroom.store.models import McpDecision, McpRequest
from strongroom.store.tenancy import system_scope

SYSTEM = "system:approvals"
BATCH = 500


class Decisions:
    def __init__(self, db: Database, audit: AuditSink, approval_url: str | None) -> None:
        self._db, self._audit, self._url = db, audit, approval_url

    async def decide(
        self, actor: Actor, request_id: str, approve: bool, reason: str, digest: str
    ) -> RequestView:
        action = ApprovalAction.APPROVE if approve else ApprovalAction.DENY
        reach.text(reason, digest)
        if len(reason) > 500 or (not approve and not reason.strip()):
            raise InvalidInput("a reason of 1 to 500 characters (required to deny)", field="reason")
        now = datetime.now(UTC)
        if not well_formed(request_id):
            raise RequestNotFound()
        async with self._db.read() as s:
            row = await repo.request(s, actor.tenant, request_id)
        if row is None:
            raise RequestNotFound()
        try:
            self._check(actor, row, digest, now)
        except RequestExpired:
            await self._expire(row, actor.request_id, now)
            raise
        except StrongroomError as exc:
            refused = event(actor, action, Outcome.DENIED, row.id, code=exc.code)
            await self._audit.append(refused)
            raise
        decision = McpDecision(
            request_id=row.id,
            tenant_id=row.tenant_id,
            approver=actor.principal,
            approve=approve,
            reason=reason,
            digest=digest,
            at=now,
        )
        try:
            async with self._db.transaction() as s:
                s.add(decision)
                await s.flush()
                done = await repo.decisions(s, row.id)
                approvers = {d.approver for d in done if d.approve}
                final = not approve or len(approvers) >= row.approvals_needed
                if final:
                    new = "approved" if approve else "denied"
                    if not await repo.set_status(s, row.id, "pending", new, now):
                        raise RequestNotPending()
                    row.status, row.decided_at = new, now
                recorded = event(
                    actor,
                    action,
                    Outcome.SUCCESS,
                    row.id,
                    {"reason": reason} if reason else None,
                    auto=False,
                    final=final,
                    approvals=len(approvers),
                    approvalsNeeded=row.approvals_needed,
                    digest=digest,
                    requester=row.requester,
                )
                self._audit.record_in(s, recorded)
        except IntegrityError:
            raise AlreadyDecided() from None
        return view(row, self._url, now)

    @staticmethod
    def _check(actor: Actor, row: McpRequest, digest: str, now: datetime) -> None:
        if actor.principal == row.requester:
            raise SelfApproval()
        if row.status != "pending":
            raise RequestNotPending(status=row.status)
        if row.expires_at <= now:
            raise RequestExpired()
        if digest.lower() != row.digest:
            raise DigestMismatch()

    async def _expire(self, row: McpRequest, rid: str, now: datetime) -> bool:
        async with self._db.transaction() as s:
            if not await repo.set_status(s, row.id, "pending", "expired", now):
                return False
            actor = Actor(SYSTEM, row.tenant_id, rid, None)
            self._audit.record_in(
                s, event(actor, ApprovalAction.EXPIRE, Outcome.DENIED, row.id, reason="expired")
            )
        return True

    async def expire_due(self, now: datetime, rid: str) -> int:
        """Expire every pending request past its deadline, in every tenant (a denial,
        recorded once each even when replicas race: the update is conditional)."""
        with system_scope():
            async with self._db.read() as s:
                due = await repo.due(s, now, BATCH)
            n = 0
            for row in due:
                n += await self._expire(row, rid, now)
        return n
