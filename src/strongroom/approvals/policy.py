"""Tenant policies, versioned: the newest version applies to new requests; every
request records the version it was scored under, so old scores stay explainable.
A tenant without a row of its own has version 0, the configured default."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from sqlalchemy.exc import IntegrityError

from strongroom.approvals.models import Policy
from strongroom.audit.actions import ApprovalAction
from strongroom.audit.interfaces import AuditSink
from strongroom.audit.models import AuditEvent, Outcome
from strongroom.context import Actor
from strongroom.errors import InvalidInput, KeyConflict
from strongroom.store import approvals_repo as repo
from strongroom.store.db import Database
from strongroom.store.models import McpPolicy


def check(p: Policy) -> None:
    ok = (
        0 <= p.threshold <= 101
        and 60 <= p.duration_cap_seconds <= 86400
        and 60 <= p.pending_expiry_seconds <= 30 * 86400
        and 60 <= p.session_max_seconds <= 86400
        and 0 <= p.business_start_hour < p.business_end_hour <= 24
        and p.new_tool_seconds >= 0
    )
    if not ok:
        raise InvalidInput("policy value out of range", field="policy")


class Policies:
    def __init__(self, db: Database, audit: AuditSink, default: Policy) -> None:
        check(default)
        self._db, self._audit, self.default = db, audit, dataclasses.replace(default, version=0)

    async def current(self, tenant: str) -> Policy:
        async with self._db.read() as s:
            row = await repo.policy(s, tenant)
        return Policy.of(row) if row is not None else self.default

    async def write(self, actor: Actor, policy: Policy) -> Policy:
        """Store ``policy`` as the tenant's next version (its ``version`` is ignored)."""
        check(policy)
        async with self._db.read() as s:
            old = await repo.policy(s, actor.tenant)
        new = dataclasses.replace(policy, version=(old.version if old else 0) + 1)
        fields = dataclasses.asdict(new)
        row = McpPolicy(
            tenant_id=actor.tenant,
            created_at=datetime.now(UTC),
            created_by=actor.principal,
            **fields,
        )
        detail = {k: v for k, v in fields.items()}
        event = AuditEvent(
            actor, ApprovalAction.POLICY_WRITE, Outcome.SUCCESS, str(new.version), detail=detail
        )
        try:
            async with self._db.transaction() as s:
                s.add(row)
                self._audit.record_in(s, event)
        except IntegrityError:  # a concurrent writer took this version
            raise KeyConflict() from None
        return new
