"""The MCP tool registry: which tools (tenant, name, client id) may ask for access,
under which pinned input schema, reaching which hosts and methods, at which tier.

A tool's own annotations (``readOnlyHint``, ...) are stored as hints and never
trusted: reach and tier are the admin's. A tool that presents another schema than the
pinned one is suspended at once (audited, security event ``mcp.tool_schema_changed``)
and stays suspended until an admin approves it again, pinning the schema it names.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import IntegrityError

from strongroom.approvals import reach
from strongroom.approvals.contract import ToolIdentity
from strongroom.approvals.digest import SHA256_HEX, canonical_json
from strongroom.approvals.errors import (
    OutsideToolReach,
    ToolExists,
    ToolNotApproved,
    ToolNotFound,
    ToolNotRegistered,
    ToolSchemaChanged,
)
from strongroom.approvals.models import NewTool, ToolStatus, ToolView
from strongroom.audit.actions import ApprovalAction, SecurityRule
from strongroom.audit.events import SEVERITY, SecurityEvent
from strongroom.audit.interfaces import AuditSink
from strongroom.audit.models import AuditEvent, Outcome
from strongroom.context import Actor
from strongroom.errors import InvalidInput
from strongroom.store import approvals_repo as repo
from strongroom.store.db import Database
from strongroom.store.models import McpTool

NAME_MAX = 128
MAX_ANNOTATION_BYTES = 4096
Raise = Callable[[list[SecurityEvent]], None]


def _check_sha(value: str) -> str:
    value = value.lower()
    if not SHA256_HEX.match(value):
        raise InvalidInput("schemaSha256 must be 64 hex digits", field="schemaSha256")
    return value


class ToolRegistry:
    def __init__(self, db: Database, audit: AuditSink, raise_later: Raise | None = None) -> None:
        self._db, self._audit, self._raise = db, audit, raise_later

    async def register(self, actor: Actor, new: NewTool) -> ToolView:
        """A new tool, pending until an admin approves it."""
        reach.text(new.name, new.client_id)
        if not 1 <= len(new.name) <= NAME_MAX or not 1 <= len(new.client_id) <= 200:
            raise InvalidInput("name or client id length", field="name")
        if (
            new.annotations is not None
            and len(canonical_json(new.annotations)) > MAX_ANNOTATION_BYTES
        ):
            raise InvalidInput("annotations too large", field="annotations")
        now = datetime.now(UTC)
        row = McpTool(
            tenant_id=actor.tenant,
            name=new.name,
            client_id=new.client_id,
            schema_sha256=_check_sha(new.schema_sha256),
            observed_sha256=None,
            hosts=list(reach.hosts(new.hosts)),
            methods=list(reach.methods(new.methods)),
            tier=new.tier.value,
            status=ToolStatus.PENDING.value,
            status_reason=None,
            annotations=new.annotations,
            created_at=now,
            created_by=actor.principal,
            updated_at=now,
            updated_by=actor.principal,
        )
        try:
            async with self._db.transaction() as s:
                s.add(row)
                await s.flush()
                detail = {"tier": row.tier, "hosts": len(row.hosts), "methods": row.methods}
                self._audit.record_in(
                    s, self._event(actor, ApprovalAction.TOOL_REGISTER, row, detail)
                )
        except IntegrityError:
            raise ToolExists() from None
        return ToolView.of(row)

    async def list(
        self, tenant: str, limit: int, after: int | None
    ) -> tuple[list[ToolView], int | None]:
        async with self._db.read() as s:
            rows = await repo.tools(s, tenant, limit + 1, after)
        views = [ToolView.of(r) for r in rows[:limit]]
        return views, (rows[limit - 1].id if len(rows) > limit else None)

    async def get(self, tenant: str, tool_id: int) -> ToolView:
        async with self._db.read() as s:
            row = await repo.tool(s, tenant, tool_id)
        if row is None:
            raise ToolNotFound()
        return ToolView.of(row)

    async def approve(
        self, actor: Actor, tool_id: int, schema_sha256: str | None = None
    ) -> ToolView:
        """Approve (or re-approve) the tool, pinning ``schema_sha256`` when given (the
        schema it presented since, shown as ``observed_sha256``)."""
        pinned = _check_sha(schema_sha256) if schema_sha256 is not None else None
        return await self._change(actor, tool_id, ToolStatus.APPROVED, None, pinned)

    async def suspend(self, actor: Actor, tool_id: int) -> ToolView:
        return await self._change(actor, tool_id, ToolStatus.SUSPENDED, "admin", None)

    async def _change(
        self, actor: Actor, tool_id: int, status: ToolStatus, reason: str | None, pinned: str | None
    ) -> ToolView:
        action = (
            ApprovalAction.TOOL_APPROVE
            if status is ToolStatus.APPROVED
            else ApprovalAction.TOOL_SUSPEND
        )
        async with self._db.transaction() as s:
            row = await repo.tool(s, actor.tenant, tool_id)
            if row is None:
                raise ToolNotFound()
            detail: dict[str, Any] = {
                "from": row.status,
                "repinned": pinned is not None and pinned != row.schema_sha256,
            }
            if pinned is not None:
                row.schema_sha256 = pinned
                if row.observed_sha256 == pinned:
                    row.observed_sha256 = None
            row.status, row.status_reason = status.value, reason
            row.updated_at, row.updated_by = datetime.now(UTC), actor.principal
            self._audit.record_in(s, self._event(actor, action, row, detail))
        return ToolView.of(row)

    async def check(
        self,
        actor: Actor,
        ident: ToolIdentity,
        hosts: tuple[str, ...],
        methods: tuple[str, ...],
        correlation: str,
    ) -> ToolView:
        """The approved tool ``ident`` names, whose reach covers ``hosts`` and ``methods``;
        refused otherwise (the caller records the refusal). A changed schema suspends it."""
        async with self._db.read() as s:
            row = await repo.tool_by_identity(s, actor.tenant, ident.name, ident.client_id)
        if row is None:
            raise ToolNotRegistered()
        presented = ident.schema_sha256.lower()
        if presented != row.schema_sha256:
            # Suspended, recorded and alarmed once per schema presented: a client that
            # keeps retrying with it gets APR002 (each refusal audited by the caller).
            if not (row.status_reason == "schema-changed" and row.observed_sha256 == presented):
                await self._schema_changed(actor, row.id, presented, correlation)
            raise ToolSchemaChanged()
        if row.status != ToolStatus.APPROVED.value:
            raise ToolNotApproved(status=row.status)
        if not reach.within(row.hosts, hosts):
            raise OutsideToolReach(field="hosts")
        if not set(methods) <= set(row.methods):
            raise OutsideToolReach(field="methods")
        return ToolView.of(row)

    async def _schema_changed(
        self, actor: Actor, tool_id: int, observed: str, correlation: str
    ) -> None:
        observed = observed if SHA256_HEX.match(observed) else "invalid"
        async with self._db.transaction() as s:
            row = await repo.tool(s, actor.tenant, tool_id)
            if row is None:
                return
            was = row.status
            row.status, row.status_reason = ToolStatus.SUSPENDED.value, "schema-changed"
            row.observed_sha256 = observed if observed != "invalid" else None
            row.updated_at, row.updated_by = datetime.now(UTC), actor.principal
            detail = {"from": was, "reason": "schema-changed", "correlationId": correlation}
            event = self._event(actor, ApprovalAction.TOOL_SUSPEND, row, detail)
            self._audit.record_in(s, event)
        if self._raise is not None:
            rule = SecurityRule.MCP_TOOL_SCHEMA_CHANGED
            facts = {
                "trigger": str(ApprovalAction.REQUEST),
                "request_id": actor.request_id,
                "facts": [str(tool_id)],
            }
            self._raise([SecurityEvent(rule, SEVERITY[rule], str(tool_id), actor.tenant, facts)])

    @staticmethod
    def _event(
        actor: Actor, action: ApprovalAction, row: McpTool, detail: dict[str, Any]
    ) -> AuditEvent:
        detail = {**detail, "status": row.status, "schemaSha256": row.schema_sha256}
        return AuditEvent(
            actor, action, Outcome.SUCCESS, str(row.id), detail=detail, target_kind="toolId"
        )
