"""MCP approvals (approvals/, migration 0017): the tool registry, versioned tenant
policies, access requests with their risk factors and human decisions, sessions and
proxy tokens; and (migration 0019) the approvals page's sign-in sessions.

A proxy token is never stored, only its SHA-256 (``McpProxyToken.token_hash``): it
is 256 random bits, so a plain hash is enough to make a stolen table useless.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from strongroom.store.models.base import Base, BigId, UTCDateTime


class McpTool(Base):
    __tablename__ = "mcp_tools"
    __table_args__ = (
        UniqueConstraint("tenant_id", "name", "client_id", name="uq_mcp_tools_identity"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(128))
    client_id: Mapped[str] = mapped_column(String(200))
    schema_sha256: Mapped[str] = mapped_column(String(64))  # the pinned schema
    # The different schema last presented (what an admin re-approves), else None.
    observed_sha256: Mapped[str | None] = mapped_column(String(64))
    hosts: Mapped[list[str]] = mapped_column(JSON)
    methods: Mapped[list[str]] = mapped_column(JSON)
    tier: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))  # pending | approved | suspended
    status_reason: Mapped[str | None] = mapped_column(String(32))
    annotations: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # hints only
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_by: Mapped[str] = mapped_column(String(200))


class McpPolicy(Base):
    """One version of a tenant's policy; the newest applies, old ones explain old
    scores (every request records the version it was scored under)."""

    __tablename__ = "mcp_policies"
    __table_args__ = (UniqueConstraint("tenant_id", "version", name="uq_mcp_policies_version"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    threshold: Mapped[int] = mapped_column(Integer)
    duration_cap_seconds: Mapped[int] = mapped_column(Integer)
    second_approver: Mapped[bool] = mapped_column(Boolean)
    pending_expiry_seconds: Mapped[int] = mapped_column(Integer)
    session_max_seconds: Mapped[int] = mapped_column(Integer)
    business_start_hour: Mapped[int] = mapped_column(Integer)
    business_end_hour: Mapped[int] = mapped_column(Integer)
    new_tool_seconds: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(200))


class McpRequest(Base):
    __tablename__ = "mcp_requests"
    __table_args__ = (
        Index("ix_mcp_requests_status", "tenant_id", "status", "created_at"),
        Index("ix_mcp_requests_requester", "tenant_id", "requester"),
        Index("ix_mcp_requests_expiry", "status", "expires_at"),
        UniqueConstraint("session_id", name="uq_mcp_requests_session"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    tool_id: Mapped[int] = mapped_column(BigId, ForeignKey("mcp_tools.id"))
    tool_name: Mapped[str] = mapped_column(String(128))
    client_id: Mapped[str] = mapped_column(String(200))
    schema_sha256: Mapped[str] = mapped_column(String(64))
    project: Mapped[str] = mapped_column(String(128))
    key_name: Mapped[str] = mapped_column(String(128))
    hosts: Mapped[list[str]] = mapped_column(JSON)
    methods: Mapped[list[str]] = mapped_column(JSON)
    duration_seconds: Mapped[int] = mapped_column(Integer)
    purpose: Mapped[str] = mapped_column(String(500))
    requester: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16))
    score: Mapped[int] = mapped_column(Integer)
    factors: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    policy_version: Mapped[int] = mapped_column(Integer)
    approvals_needed: Mapped[int] = mapped_column(Integer)
    # SHA-256 of exactly what was asked (approvals/digest.py): what an approval covers.
    digest: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    session_id: Mapped[str | None] = mapped_column(String(32))


class McpDecision(Base):
    """One approver's approve or deny of one request (at most one each)."""

    __tablename__ = "mcp_decisions"
    __table_args__ = (UniqueConstraint("request_id", "approver", name="uq_mcp_decisions_approver"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    request_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("mcp_requests.id", ondelete="CASCADE")
    )
    tenant_id: Mapped[str] = mapped_column(String(64))
    approver: Mapped[str] = mapped_column(String(200))
    approve: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str] = mapped_column(String(500))
    digest: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class McpSession(Base):
    __tablename__ = "mcp_sessions"
    __table_args__ = (UniqueConstraint("request_id", name="uq_mcp_sessions_request"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    request_id: Mapped[str] = mapped_column(String(32), ForeignKey("mcp_requests.id"))
    principal: Mapped[str] = mapped_column(String(200))
    client_id: Mapped[str] = mapped_column(String(200))
    tool_id: Mapped[int] = mapped_column(BigId)
    project: Mapped[str] = mapped_column(String(128))
    key_name: Mapped[str] = mapped_column(String(128))
    audience: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_by: Mapped[str | None] = mapped_column(String(200))


class McpProxyToken(Base):
    __tablename__ = "mcp_proxy_tokens"
    __table_args__ = (
        UniqueConstraint("token_hash", name="uq_mcp_proxy_tokens_hash"),
        Index("ix_mcp_proxy_tokens_session", "session_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    token_hash: Mapped[str] = mapped_column(String(64))
    session_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("mcp_sessions.id", ondelete="CASCADE")
    )
    project: Mapped[str] = mapped_column(String(128))
    key_name: Mapped[str] = mapped_column(String(128))
    hosts: Mapped[list[str]] = mapped_column(JSON)
    methods: Mapped[list[str]] = mapped_column(JSON)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    uses_left: Mapped[int | None] = mapped_column(Integer)  # None: unlimited until expiry
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ApprovalPageSession(Base):
    """A sign-in session of the approvals page (access/page_sessions.py), shared by
    every worker and replica. Keyed by the SHA-256 of the cookie's random id (never
    the id, never the credential signed in with); ``principal`` is the principal as
    the guard resolved it at sign-in (id, tenant, roles, grants, own key, client)."""

    __tablename__ = "approval_page_sessions"
    __table_args__ = (
        Index("ix_approval_page_sessions_expiry", "expires_at"),
        Index("ix_approval_page_sessions_principal", "tenant_id", "principal_hash"),
    )

    session_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    principal_hash: Mapped[str] = mapped_column(String(64))  # SHA-256 of the principal id
    principal: Mapped[dict[str, Any]] = mapped_column(JSON)
    csrf: Mapped[str] = mapped_column(String(64))  # the forms' synchronizer token
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
