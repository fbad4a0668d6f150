"""Domain types of the approvals domain beside the contract (approvals/contract.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from strongroom.store.models import McpPolicy, McpTool


class ToolTier(StrEnum):
    """Admin-set trust in a tool; an input to the risk score (approvals/risk.py)."""

    TRUSTED = "trusted"
    STANDARD = "standard"
    RESTRICTED = "restricted"


class ToolStatus(StrEnum):
    PENDING = "pending"  # registered, not yet approved by an admin
    APPROVED = "approved"
    SUSPENDED = "suspended"  # by an admin, or because its schema changed


@dataclass(frozen=True)
class NewTool:
    name: str
    client_id: str
    schema_sha256: str
    hosts: tuple[str, ...]
    methods: tuple[str, ...]
    tier: ToolTier = ToolTier.STANDARD
    annotations: dict[str, Any] | None = None  # the tool's own claims: hints only


@dataclass(frozen=True)
class ToolView:
    id: int
    name: str
    client_id: str
    schema_sha256: str
    observed_sha256: str | None
    hosts: tuple[str, ...]
    methods: tuple[str, ...]
    tier: ToolTier
    status: ToolStatus
    status_reason: str | None
    annotations: dict[str, Any] | None
    created_at: datetime
    created_by: str
    updated_at: datetime
    updated_by: str

    @classmethod
    def of(cls, t: McpTool) -> ToolView:
        return cls(
            t.id,
            t.name,
            t.client_id,
            t.schema_sha256,
            t.observed_sha256,
            tuple(t.hosts),
            tuple(t.methods),
            ToolTier(t.tier),
            ToolStatus(t.status),
            t.status_reason,
            t.annotations,
            t.created_at,
            t.created_by,
            t.updated_at,
            t.updated_by,
        )


@dataclass(frozen=True)
class Policy:
    """A tenant's approvals policy; version 0 is the configured default."""

    version: int = 0
    threshold: int = 30
    duration_cap_seconds: int = 900
    second_approver: bool = False
    pending_expiry_seconds: int = 86400
    session_max_seconds: int = 3600
    business_start_hour: int = 8
    business_end_hour: int = 18
    new_tool_seconds: int = 86400

    @classmethod
    def of(cls, p: McpPolicy) -> Policy:
        return cls(
            p.version,
            p.threshold,
            p.duration_cap_seconds,
            p.second_approver,
            p.pending_expiry_seconds,
            p.session_max_seconds,
            p.business_start_hour,
            p.business_end_hour,
            p.new_tool_seconds,
        )


@dataclass(frozen=True)
class PolicyVersion:
    """A policy with who stored it and when; both None for version 0 (the configured
    default, never stored)."""

    policy: Policy
    created_at: datetime | None = None
    created_by: str | None = None

    @classmethod
    def of(cls, p: McpPolicy) -> PolicyVersion:
        return cls(Policy.of(p), p.created_at, p.created_by)


@dataclass(frozen=True)
class SessionView:
    session_id: str
    request_id: str
    principal: str
    client_id: str
    project: str
    key: str
    audience: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
