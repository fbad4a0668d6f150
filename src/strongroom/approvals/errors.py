"""The approvals domain's errors: stable codes, fixed messages, never the input."""

from __future__ import annotations

from strongroom.errors import StrongroomError


class ToolNotRegistered(StrongroomError):
    """No tool of this name and client id is registered in the tenant."""

    code, status, message = "APR001", 403, "tool not registered"


class ToolSchemaChanged(StrongroomError):
    """The tool presented an input schema other than the pinned one: it is suspended
    until an admin re-approves it (audited, security event ``mcp.tool_schema_changed``)."""

    code, status, message = "APR002", 403, "tool schema changed: suspended until re-approved"


class ToolNotApproved(StrongroomError):
    """Registered but pending approval or suspended (``details.status``)."""

    code, status, message = "APR003", 403, "tool not approved"


class OutsideToolReach(StrongroomError):
    """A host or method the tool was not registered to reach (``details.field``)."""

    code, status, message = "APR004", 403, "outside the tool's allowed hosts or methods"


class RequestNotFound(StrongroomError):
    code, status, message = "APR005", 404, "access request not found"


class RequestNotPending(StrongroomError):
    """Already approved, denied or expired: a decision is single-use."""

    code, status, message = "APR006", 409, "access request already decided"


class SelfApproval(StrongroomError):
    code, status, message = "APR007", 403, "the requester cannot decide its own request"


class DigestMismatch(StrongroomError):
    """The approval names another digest than the request's: it covers something else
    (other hosts, methods, key or a longer duration)."""

    code, status, message = "APR008", 409, "approval does not match the request"


class RequestExpired(StrongroomError):
    code, status, message = "APR009", 410, "access request expired"


class RequestNotApproved(StrongroomError):
    """No session can open: not approved, or its session was already opened."""

    code, status, message = "APR010", 409, "access request not approved or already used"


class SessionNotFound(StrongroomError):
    code, status, message = "APR011", 404, "session not found"


class TokenRefused(StrongroomError):
    """Unknown proxy token, or another principal's (one answer for both)."""

    code, status, message = "APR012", 403, "proxy token refused"


class TokenExpired(StrongroomError):
    code, status, message = "APR013", 403, "proxy token or session expired"


class TokenRevoked(StrongroomError):
    code, status, message = "APR014", 403, "proxy token or session revoked"


class TokenExhausted(StrongroomError):
    code, status, message = "APR015", 403, "proxy token used up"


class OutsideGrant(StrongroomError):
    """A host or method the proxy token does not cover (``details.field``)."""

    code, status, message = "APR016", 403, "host or method outside the grant"


class ToolNotFound(StrongroomError):
    code, status, message = "APR017", 404, "tool not found"


class ToolExists(StrongroomError):
    code, status, message = "APR018", 409, "tool already registered"


class AlreadyDecided(StrongroomError):
    """This approver already approved the request (a second approver must differ)."""

    code, status, message = "APR019", 409, "already decided by this approver"


class PolicyVersionChanged(StrongroomError):
    """The tenant's policy is no longer the version the writer read (``expectedVersion``
    stale, or another write took the next version): read it again."""

    code, status, message = "APR020", 409, "the policy changed since it was read"
