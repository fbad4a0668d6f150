"""Settings of MCP approvals (approvals/): the policy a tenant has until it writes its
own (version 0), the expiry job, where humans approve."""

from __future__ import annotations

from pydantic import Field

from strongroom.config.base import Section


class ApprovalsSettings(Section):
    """MCP access requests: risk threshold, caps, expiry, sessions."""

    threshold: int = Field(default=30, ge=0, le=101)
    """Default policy: a request scoring below this (0-100) may be approved without a
    human (also needs a duration within ``duration_cap_seconds`` and a tool that is
    not new); 0 sends every request to a human."""
    duration_cap_seconds: int = Field(default=900, ge=60, le=86400)
    """Default policy: the longest session a request may ask for and still be approved
    automatically (15 minutes)."""
    second_approver: bool = False
    """Default policy: a pending request needs two different approvers."""
    pending_expiry_seconds: int = Field(default=86400, ge=60, le=30 * 86400)
    """Default policy: a request nobody decided is expired (a denial) after this long;
    an approved request's session must be opened within the same window."""
    session_max_seconds: int = Field(default=3600, ge=60, le=86400)
    """Default policy: the longest session (hard TTL) a request may ask for (1 hour)."""
    business_start_hour: int = Field(default=8, ge=0, le=23)
    """Default policy: business hours start (UTC hour); outside them (and on Saturday
    and Sunday) a request scores the off-hours factor."""
    business_end_hour: int = Field(default=18, ge=1, le=24)
    """Default policy: business hours end (UTC hour, exclusive)."""
    new_tool_seconds: int = Field(default=86400, ge=0, le=2**31 - 1)
    """Default policy: a tool approved (or re-approved) less than this long ago is new,
    and its requests always wait for a human; 0: no tool is new."""
    expire_interval_seconds: float = Field(default=60.0, gt=0)
    """How often the job ``approvals.expire`` (once per period across replicas) expires
    pending requests past their deadline and deletes the approvals page's expired
    sign-in sessions."""
    approval_url: str = "/approvals/{request_id}"
    """Where a human approves a pending request (``{request_id}`` is replaced); a full
    URL when the service is reached under another name."""
    audience: str | None = None
    """The audience a session is bound to (recorded with it): the MCP resource; unset,
    `STRONGROOM_MCP_RESOURCE_URL`, the resource the MCP server's tokens must name."""
