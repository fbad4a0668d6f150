"""Helpers for the MCP approvals tests: explicit doubles of what the credentials
domain tells the risk score (approvals/contract.py ``KeyFacts``, ``AnomalyFacts``),
and a registered, approved tool."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from strongroom.approvals.contract import AccessAsk, ToolIdentity
from strongroom.approvals.digest import schema_sha256
from strongroom.approvals.factory import Approvals
from strongroom.approvals.models import NewTool, ToolTier, ToolView
from strongroom.context import Actor
from strongroom.store.models import AuditRecord
from tests.api.conftest import App

SCHEMA = {"type": "object", "properties": {"url": {"type": "string"}}}
SCHEMA_SHA = schema_sha256(SCHEMA)
ADMIN = Actor("admin-1", "default", "rid-admin", None)
AGENT = Actor("agent-1", "default", "rid-agent", None)
APPROVER = Actor("approver-1", "default", "rid-approver", None)
APPROVER_2 = Actor("approver-2", "default", "rid-approver-2", None)


@dataclass
class Facts:
    """KeyFacts and AnomalyFacts in one test double; ``missing`` keys are refused."""

    sensitivity_of: dict[str, str] = field(default_factory=dict)
    anomalies: int = 0
    used: set[tuple[str, str]] = field(default_factory=set)

    async def sensitivity(self, tenant: str, project: str, key: str) -> str:
        return self.sensitivity_of.get(key, "low")

    async def recent_anomalies(self, tenant: str, project: str, key: str) -> int:
        return self.anomalies

    async def first_use(self, tenant: str, project: str, key: str, caller: str) -> bool:
        return (key, caller) not in self.used


def wire(app: App, facts: Facts | None = None) -> tuple[Approvals, Facts]:
    facts = facts or Facts()
    approvals = app.services.approvals
    approvals.requests.keys = facts
    approvals.requests.anomalies = facts
    return approvals, facts


async def policy(approvals: Approvals, **fields: Any) -> None:
    """A new policy version: the default with ``fields`` (tools are never new)."""
    base = dataclasses.replace(approvals.policies.default, new_tool_seconds=0)
    await approvals.policies.write(ADMIN, dataclasses.replace(base, **fields))


async def approved_tool(
    approvals: Approvals,
    name: str = "fetcher",
    hosts: tuple[str, ...] = ("api.example.com", "*.example.org"),
    methods: tuple[str, ...] = ("GET", "POST"),
    tier: ToolTier = ToolTier.STANDARD,
) -> ToolView:
    tool = await approvals.tools.register(
        ADMIN, NewTool(name, "client-1", SCHEMA_SHA, hosts, methods, tier, {"readOnlyHint": True})
    )
    return await approvals.tools.approve(ADMIN, tool.id)


def ask(
    key: str = "stripe",
    hosts: tuple[str, ...] = ("api.example.com",),
    methods: tuple[str, ...] = ("GET",),
    duration: int = 300,
    tool: str = "fetcher",
    sha: str = SCHEMA_SHA,
) -> AccessAsk:
    return AccessAsk(
        ToolIdentity(tool, "client-1", sha),
        "payments",
        key,
        hosts,
        methods,
        duration,
        "read invoices",
    )


async def trail(app: App, target: str) -> list[AuditRecord]:
    """Every audit record about ``target`` (an access request id), in order."""
    async with app.services.db.read() as s:
        q = select(AuditRecord).where(AuditRecord.target == target).order_by(AuditRecord.id)
        return list((await s.execute(q)).scalars())
