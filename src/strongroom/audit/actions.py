"""The catalogue of audit actions: every ``action`` a record can carry, in one place.

Each domain has its own enum (``KeyAction``, ``AccessKeyAction``, ...), warehouse's
EventTag style, all subclasses of ``AuditAction``, the type of ``AuditEvent.action``:
a bare string there is a type error, so a typo cannot silently start a new
vocabulary that ``?action=`` filters and security rules never match.

The VALUES are frozen. They are the published record format (docs/audit-format.md):
they are hashed into the tamper-evident chain, clients filter on them and auditors
read them years later. Member names may be reorganised; a value never changes, and
a new action gets a new value. A failing operation is recorded under the same
action as its success, with ``outcome`` failure or denied, never a second name.
"""

from __future__ import annotations

from enum import StrEnum


class AuditAction(StrEnum):
    """Base of every domain's actions (has no members itself)."""


class KeyAction(AuditAction):
    """Per-user keys (keys/)."""

    CREATE = "key.create"
    ENCRYPT = "key.encrypt"
    DECRYPT = "key.decrypt"
    REWRAP = "key.rewrap"
    ROTATE = "key.rotate"
    POLICY = "key.policy"
    DELETE_SCHEDULE = "key.delete.schedule"
    DELETE_CANCEL = "key.delete.cancel"
    DESTROY = "key.destroy"
    BLIND_INDEX = "key.blind_index"


class AccessKeyAction(AuditAction):
    """Access-key lifecycle (access/lifecycle.py)."""

    CREATE = "access_key.create"
    ROTATE = "access_key.rotate"
    REVOKE = "access_key.revoke"


class RoleAction(AuditAction):
    """Custom roles (access/roles.py). ``WRITE`` is the denied attempt to create or
    replace a role stronger than its writer."""

    CREATE = "role.create"
    UPDATE = "role.update"
    DELETE = "role.delete"
    WRITE = "role.write"


class SecretAction(AuditAction):
    """The vault (secrets/). ``READ`` of an expired version is a failure with
    ``detail.reason`` ``expired``; ``PURGE`` deletes a secret with every version and
    its metadata; ``PROMOTE`` moves the staging labels (rotation)."""

    WRITE = "secret.write"
    READ = "secret.read"
    LIST = "secret.list"
    METADATA = "secret.metadata"
    DELETE = "secret.delete"
    UNDELETE = "secret.undelete"
    DESTROY = "secret.destroy"
    PURGE = "secret.purge"
    PROMOTE = "secret.promote"


class ProjectAction(AuditAction):
    """Projects of stored API keys (credentials/)."""

    CREATE = "project.create"
    DELETE = "project.delete"


class ApiKeyAction(AuditAction):
    """Stored third-party API keys (credentials/). ``ROTATE`` that failed (a hook that
    errs, times out or answers garbage; a write that failed) is a failure record with
    ``detail.step``; ``BLOCK`` by an anomaly rule has the system as its actor."""

    CREATE = "api_key.create"
    UPDATE = "api_key.update"
    ROTATE = "api_key.rotate"
    REVOKE = "api_key.revoke"
    BLOCK = "api_key.block"
    UNBLOCK = "api_key.unblock"
    REVEAL = "api_key.reveal"
    DELETE = "api_key.delete"


class TokenAction(AuditAction):
    """Bearer-token revocation list (access/revocation.py)."""

    REVOKE = "token.revoke"


class ShareAction(AuditAction):
    """Shares of one value (secrets/shares.py). ``END`` is the system ending a share
    (expired, its vault version deleted); ``PURGE`` deletes ended shares' rows."""

    CREATE = "share.create"
    REDEEM = "share.redeem"
    REVOKE = "share.revoke"
    END = "share.end"
    PURGE = "share.purge"


class AuthAction(AuditAction):
    """Refused authentication, one action per credential kind (recorded as failures)."""

    API_KEY = "auth.api_key"
    BEARER = "auth.bearer"
    MTLS = "auth.mtls"
    POLICY = "auth.policy"  # the credentials presented do not satisfy auth policy


class AuthzAction(AuditAction):
    """Authorization refused (outcome denied, ``detail.permission``)."""

    DENIED = "authz.denied"


class ApiAction(AuditAction):
    """Records the HTTP edge writes for requests no domain action records."""

    READ = "api.read"
    REJECTED = "api.rejected"


class ChainAction(AuditAction):
    """Records the audit trail writes about itself (docs/audit-format.md)."""

    OPEN = "audit.open"
    HEARTBEAT = "audit.heartbeat"
    CLOSE = "audit.close"
    VOID = "audit.void"
    ARCHIVE = "audit.archive"


class CertificateAction(AuditAction):
    """Certificates (pki/). ``EXPORT`` hands out a private key; an import that renews
    another certificate says so in its detail (``renewedFrom``, ``keyReused``)."""

    IMPORT = "certificate.import"
    EXPORT = "certificate.export"
    REVOKE = "certificate.revoke"
    ISSUE = "certificate.issue"
    CA_CREATE = "certificate.ca.create"
    ROLE_WRITE = "certificate.role.write"


class KmsAction(AuditAction):
    """Root-key migration (services/kms_rewrap.py)."""

    REWRAP = "kms.rewrap"


class JobAction(AuditAction):
    """Scheduled jobs (services/jobs.py): one record per job and period that ran, with
    ``detail.job``, ``detail.period`` (its start) and ``item_count`` (what it did)."""

    RUN = "job.run"


class BrokerAction(AuditAction):
    """The credential broker (credentials/broker.py): one record per brokered call with
    ``detail`` host, method, path template, status, bytes and latency (never the key,
    a header or a body); a refusal is the same action with outcome denied and
    ``detail.code``."""

    REQUEST = "broker.request"


class ApprovalAction(AuditAction):
    """MCP access for AI agents (approvals/). Every record of one access request has
    that request's id as ``target`` and ``detail.correlationId`` (tool records: the
    tool's id). ``REQUEST`` is asked (or refused before scoring: unregistered tool,
    changed schema), ``SCORE`` the score with every factor, ``APPROVE`` a human's or
    the policy's approval (``detail.auto``), ``EXPIRE`` a pending request past its
    deadline (a denial)."""

    TOOL_REGISTER = "mcp.tool.register"
    TOOL_APPROVE = "mcp.tool.approve"
    TOOL_SUSPEND = "mcp.tool.suspend"
    POLICY_WRITE = "mcp.policy.write"
    REQUEST = "mcp.request.create"
    SCORE = "mcp.request.score"
    APPROVE = "mcp.request.approve"
    DENY = "mcp.request.deny"
    EXPIRE = "mcp.request.expire"
    SESSION_OPEN = "mcp.session.open"
    TOKEN_USE = "mcp.token.use"  # noqa: S105 (an action name)
    SESSION_REVOKE = "mcp.session.revoke"


class SecurityRule(StrEnum):
    """The security-event rules (audit/events.py): the ``rule`` of a security event,
    its metric label and webhook field; recorded as ``SecurityAction`` ``security.<rule>``."""

    AUTH_FAILURES = "auth.failures"
    AUTH_FAILURES_GLOBAL = "auth.failures_global"
    AUTH_REVOKED_CREDENTIAL = "auth.revoked_credential"
    AUTH_NEW_ADDRESS = "auth.new_address"
    DECRYPT_BULK = "decrypt.bulk"
    KEY_DELETION = "key.deletion"
    RATE_LIMITED = "rate.limited"
    USERS_BULK = "users.bulk"
    SECRET_EXPIRING = "secret.expiring"  # noqa: S105 (a rule name)
    CERTIFICATE_EXPIRING = "certificate.expiring"
    CERTIFICATE_EXPIRED = "certificate.expired"
    CERTIFICATE_CHAIN = "certificate.chain_expires_first"
    CERTIFICATE_KEY_REUSED = "certificate.key_reused"
    API_KEY_EXPIRING = "api_key.expiring"
    API_KEY_ROTATION_DUE = "api_key.rotation_due"
    # Stored API keys' anomaly rules (credentials/anomaly.py, docs/usage-analytics.md).
    USAGE_RATE = "usage.rate"
    USAGE_NEW_CALLER = "usage.new_caller"
    USAGE_NEW_SOURCE = "usage.new_source"
    USAGE_OFF_HOURS = "usage.off_hours"
    USAGE_UPSTREAM_AUTH = "usage.upstream_auth"
    USAGE_ERRORS = "usage.errors"
    USAGE_DENIED_HOST = "usage.denied_host"
    MCP_TOOL_SCHEMA_CHANGED = "mcp.tool_schema_changed"


SECURITY_PREFIX = "security."


class SecurityAction(AuditAction):
    """The record of a raised security event: ``security.`` + its ``SecurityRule``."""

    AUTH_FAILURES = SECURITY_PREFIX + SecurityRule.AUTH_FAILURES
    AUTH_FAILURES_GLOBAL = SECURITY_PREFIX + SecurityRule.AUTH_FAILURES_GLOBAL
    AUTH_REVOKED_CREDENTIAL = SECURITY_PREFIX + SecurityRule.AUTH_REVOKED_CREDENTIAL
    AUTH_NEW_ADDRESS = SECURITY_PREFIX + SecurityRule.AUTH_NEW_ADDRESS
    DECRYPT_BULK = SECURITY_PREFIX + SecurityRule.DECRYPT_BULK
    KEY_DELETION = SECURITY_PREFIX + SecurityRule.KEY_DELETION
    RATE_LIMITED = SECURITY_PREFIX + SecurityRule.RATE_LIMITED
    USERS_BULK = SECURITY_PREFIX + SecurityRule.USERS_BULK
    SECRET_EXPIRING = SECURITY_PREFIX + SecurityRule.SECRET_EXPIRING
    CERTIFICATE_EXPIRING = SECURITY_PREFIX + SecurityRule.CERTIFICATE_EXPIRING
    CERTIFICATE_EXPIRED = SECURITY_PREFIX + SecurityRule.CERTIFICATE_EXPIRED
    CERTIFICATE_CHAIN = SECURITY_PREFIX + SecurityRule.CERTIFICATE_CHAIN
    CERTIFICATE_KEY_REUSED = SECURITY_PREFIX + SecurityRule.CERTIFICATE_KEY_REUSED
    API_KEY_EXPIRING = SECURITY_PREFIX + SecurityRule.API_KEY_EXPIRING
    API_KEY_ROTATION_DUE = SECURITY_PREFIX + SecurityRule.API_KEY_ROTATION_DUE
    USAGE_RATE = SECURITY_PREFIX + SecurityRule.USAGE_RATE
    USAGE_NEW_CALLER = SECURITY_PREFIX + SecurityRule.USAGE_NEW_CALLER
    USAGE_NEW_SOURCE = SECURITY_PREFIX + SecurityRule.USAGE_NEW_SOURCE
    USAGE_OFF_HOURS = SECURITY_PREFIX + SecurityRule.USAGE_OFF_HOURS
    USAGE_UPSTREAM_AUTH = SECURITY_PREFIX + SecurityRule.USAGE_UPSTREAM_AUTH
    USAGE_ERRORS = SECURITY_PREFIX + SecurityRule.USAGE_ERRORS
    USAGE_DENIED_HOST = SECURITY_PREFIX + SecurityRule.USAGE_DENIED_HOST
    MCP_TOOL_SCHEMA_CHANGED = SECURITY_PREFIX + SecurityRule.MCP_TOOL_SCHEMA_CHANGED

    @classmethod
    def of(cls, rule: SecurityRule) -> SecurityAction:
        return cls(SECURITY_PREFIX + rule)


def catalogue() -> frozenset[str]:
    """Every action value (the tests check recorded actions against it)."""
    return frozenset(a.value for kind in AuditAction.__subclasses__() for a in kind)
