"""What the approvals domain offers its edges (REST, CLI, the MCP server) and what it
needs from other domains. Domains do not import each other: ``services`` wires the
credentials domain to ``KeyFacts`` / ``AnomalyFacts``.

A proxy token (``srp_…``) is shown once, when its session opens; only its hash is
stored. A session handle never authenticates alone: every call also carries the
same principal's own credentials (``Actor``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from strongroom.context import Actor


class RequestStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    DENIED = "denied"
    EXPIRED = "expired"


@dataclass(frozen=True)
class ToolIdentity:
    """How an MCP client names the tool acting for it."""

    name: str
    client_id: str
    schema_sha256: str  # hex SHA-256 of the tool's canonical input schema


@dataclass(frozen=True)
class AccessAsk:
    tool: ToolIdentity
    project: str
    key: str
    hosts: tuple[str, ...]
    methods: tuple[str, ...]
    duration_seconds: int
    purpose: str


@dataclass(frozen=True)
class Factor:
    name: str
    points: int
    why: str


@dataclass(frozen=True)
class RequestView:
    request_id: str
    status: RequestStatus
    score: int
    factors: tuple[Factor, ...]
    policy_version: int
    ask: AccessAsk
    requester: str
    created_at: datetime
    expires_at: datetime
    approval_url: str | None  # where a human approves a pending request
    session_id: str | None = None  # once a session was opened for it


@dataclass(frozen=True)
class OpenedSession:
    session_id: str
    proxy_token: str = field(repr=False)  # srp_…, shown once
    expires_at: datetime


@dataclass(frozen=True)
class Grant:
    """What a verified proxy token allows."""

    session_id: str
    request_id: str
    tenant: str
    principal: str
    project: str
    key: str
    hosts: tuple[str, ...]
    methods: tuple[str, ...]
    expires_at: datetime


class AccessRequests(Protocol):
    async def create(self, actor: Actor, ask: AccessAsk) -> RequestView:
        """Check the tool (registered, schema unchanged), score, record; auto-approve
        when the policy allows it."""
        ...

    async def get(self, actor: Actor, request_id: str) -> RequestView: ...


class Sessions(Protocol):
    async def open(self, actor: Actor, request_id: str) -> OpenedSession:
        """Open the session of an approved request (once); the requester only."""
        ...

    async def verify(self, actor: Actor, token: str, *, host: str, method: str) -> Grant:
        """The grant of a live proxy token presented by its own principal for this
        host and method; refused (stable code, audited) otherwise. Counts a use."""
        ...

    async def revoke(self, actor: Actor, session_id: str, *, own_only: bool) -> None: ...


# --- Needed from other domains (wired in services) ---


class KeyFacts(Protocol):
    async def sensitivity(self, tenant: str, project: str, key: str) -> str:
        """ "low" | "medium" | "high"; refused when the key does not exist."""
        ...


class AnomalyFacts(Protocol):
    async def recent_anomalies(self, tenant: str, project: str, key: str) -> int:
        """Anomaly episodes on the key in the last 7 days."""
        ...

    async def first_use(self, tenant: str, project: str, key: str, caller: str) -> bool: ...
