"""Build the approvals domain from its settings section. ``keys`` and ``anomalies``
come from the credentials domain, wired by services (domains do not import each
other)."""

from __future__ import annotations

from dataclasses import dataclass

from strongroom.approvals.contract import AnomalyFacts, KeyFacts
from strongroom.approvals.models import Policy
from strongroom.approvals.policy import Policies
from strongroom.approvals.requests import AccessRequestService
from strongroom.approvals.sessions import SessionService
from strongroom.approvals.tools import Raise, ToolRegistry
from strongroom.audit.interfaces import AuditSink
from strongroom.config import ApprovalsSettings
from strongroom.store.db import Database


@dataclass(frozen=True)
class Approvals:
    tools: ToolRegistry
    policies: Policies
    requests: AccessRequestService  # an ``AccessRequests`` (contract) with decide()
    sessions: SessionService  # a ``Sessions`` (contract)


def default_policy(settings: ApprovalsSettings) -> Policy:
    return Policy(
        version=0,
        threshold=settings.threshold,
        duration_cap_seconds=settings.duration_cap_seconds,
        second_approver=settings.second_approver,
        pending_expiry_seconds=settings.pending_expiry_seconds,
        session_max_seconds=settings.session_max_seconds,
        business_start_hour=settings.business_start_hour,
        business_end_hour=settings.business_end_hour,
        new_tool_seconds=settings.new_tool_seconds,
    )


def build_approvals(
    settings: ApprovalsSettings,
    db: Database,
    audit: AuditSink,
    keys: KeyFacts,
    anomalies: AnomalyFacts,
    raise_later: Raise | None = None,
    default_audience: str = "strongroom-mcp",
) -> Approvals:
    """``default_audience``: the MCP server's resource, bound to sessions unless the
    settings name another."""
    tools = ToolRegistry(db, audit, raise_later)
    policies = Policies(db, audit, default_policy(settings))
    requests = AccessRequestService(
        db, audit, tools, policies, keys, anomalies, settings.approval_url
    )
    return Approvals(
        tools,
        policies,
        requests,
        SessionService(db, audit, policies, settings.audience or default_audience),
    )
