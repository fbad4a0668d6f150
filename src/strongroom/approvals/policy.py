"""Tenant policies, versioned: the newest version applies to new requests; every
request records the version it was scored under, so old scores stay explainable.
A tenant without a row of its own has version 0, the configured default.

A write may name the version it read (``expected_version``): two admins editing at
once then cannot silently overwrite each other; the second gets ``APR020`` and reads
again. The unique (tenant, version) makes this hold under concurrency as well."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import IntegrityError

from strongroom.approvals.errors import PolicyVersionChanged
from strongroom.approvals.models import Policy, PolicyVersion
from strongroom.audit.actions import ApprovalAction
from strongroom.audit.interfaces import AuditSink
from strongroom.audit.models import AuditEvent, Outcome
from strongroom.context import Actor
from strongroom.errors import InvalidInput
from strongroom.store import approvals_repo as repo
from strongroom.store.db import Database
from strongroom.store.models import McpPolicy

# (attribute, the name callers use (API, errors), lowest, highest). The highest
# new_tool_seconds is what the column (a 32-bit integer) holds.
BOUNDS: tuple[tuple[str, str, int, int], ...] = (
    ("threshold", "threshold", 0, 101),
    ("duration_cap_seconds", "durationCapSeconds", 60, 86400),
    ("pending_expiry_seconds", "pendingExpirySeconds", 60, 30 * 86400),
    ("session_max_seconds", "sessionMaxSeconds", 60, 86400),
    ("business_start_hour", "businessStartHour", 0, 23),
    ("business_end_hour", "businessEndHour", 1, 24),
    ("new_tool_seconds", "newToolSeconds", 0, 2**31 - 1),
)
# Every field a write may change, by the name callers use.
FIELDS: Mapping[str, str] = {
    **{name: attr for attr, name, _, _ in BOUNDS},
    "secondApprover": "second_approver",
}


def check(p: Policy) -> None:
    """Refuse a value out of range, naming the field (``details.field``)."""
    for attr, name, low, high in BOUNDS:
        value = getattr(p, attr)
        if type(value) is not int or not low <= value <= high:
            raise InvalidInput(f"{name} out of range", field=name, minimum=low, maximum=high)
    if type(p.second_approver) is not bool:
        raise InvalidInput("secondApprover must be true or false", field="secondApprover")
    if p.business_start_hour >= p.business_end_hour:
        raise InvalidInput(
            "businessEndHour must be after businessStartHour", field="businessEndHour"
        )


class Policies:
    def __init__(self, db: Database, audit: AuditSink, default: Policy) -> None:
        check(default)
        self._db, self._audit, self.default = db, audit, dataclasses.replace(default, version=0)

    async def current(self, tenant: str) -> Policy:
        return (await self.show(tenant)).policy

    async def show(self, tenant: str) -> PolicyVersion:
        """The policy in force, with who stored it and when (version 0: neither)."""
        async with self._db.read() as s:
            row = await repo.policy(s, tenant)
        return PolicyVersion.of(row) if row is not None else PolicyVersion(self.default)

    async def versions(
        self, tenant: str, limit: int, before: int | None = None
    ) -> tuple[list[PolicyVersion], int | None]:
        """Stored versions, newest first, and the cursor of the next page (None: last).
        Version 0, the configured default, is never stored and never listed."""
        async with self._db.read() as s:
            rows = await repo.policies(s, tenant, limit, before)
        after = rows[-1].version if len(rows) == limit and rows[-1].version > 1 else None
        return [PolicyVersion.of(r) for r in rows], after

    async def write(
        self, actor: Actor, policy: Policy, expected_version: int | None = None
    ) -> PolicyVersion:
        """Store ``policy`` as the tenant's next version (its ``version`` is ignored)."""
        return await self._store(actor, lambda _: policy, expected_version)

    async def change(
        self,
        actor: Actor,
        changes: Mapping[str, int | bool],
        expected_version: int | None = None,
    ) -> PolicyVersion:
        """Store the current version with ``changes`` (by the callers' names,
        ``FIELDS``) as the next one; fields not named keep their current values."""
        unknown = sorted(set(changes) - set(FIELDS))
        if unknown:
            raise InvalidInput("unknown policy field", field=unknown[0])
        replace: dict[str, Any] = {FIELDS[k]: v for k, v in changes.items()}
        return await self._store(
            actor, lambda old: dataclasses.replace(old, **replace), expected_version
        )

    async def _store(
        self,
        actor: Actor,
        make: Callable[[Policy], Policy],
        expected_version: int | None,
    ) -> PolicyVersion:
        async with self._db.read() as s:
            old = await repo.policy(s, actor.tenant)
        current = Policy.of(old) if old is not None else self.default
        if expected_version is not None and expected_version != current.version:
            raise PolicyVersionChanged(
                expectedVersion=expected_version,
                currentVersion=current.version,
            )
        new = dataclasses.replace(make(current), version=current.version + 1)
        check(new)
        fields = dataclasses.asdict(new)
        row = McpPolicy(
            tenant_id=actor.tenant,
            created_at=datetime.now(UTC),
            created_by=actor.principal,
            **fields,
        )
        event = AuditEvent(
            actor, ApprovalAction.POLICY_WRITE, Outcome.SUCCESS, str(new.version), detail=fields
        )
        try:
            async with self._db.transaction() as s:
                s.add(row)
                self._audit.record_in(s, event)
        except IntegrityError:  # a concurrent writer took this version
            raise PolicyVersionChanged() from None
        return PolicyVersion(new, row.created_at, row.created_by)
