"""The catalogue of permissions: every ``resource:action`` a route or service checks.

Routes, services and the built-in roles (access/rbac.py) name permissions through
``Permission``, so a misspelt one is an attribute error at import rather than a
route that silently denies everyone. Grant patterns (``keys:*``, ``*``) and custom
roles stay strings: they are patterns over this catalogue, not members of it.

The values are public: they appear in role grants stored by clients, in
``auth_required_for`` settings and in ``authz.denied`` audit records. Never change one.
"""

from __future__ import annotations

from enum import StrEnum


class Permission(StrEnum):
    KEYS_CREATE = "keys:create"
    KEYS_READ = "keys:read"
    KEYS_READ_PUBLIC = "keys:read-public"
    KEYS_ENCRYPT = "keys:encrypt"
    KEYS_DECRYPT = "keys:decrypt"
    KEYS_ROTATE = "keys:rotate"
    KEYS_DELETE = "keys:delete"
    KEYS_ADMIN = "keys:admin"
    KEYS_BLIND_INDEX = "keys:blind-index"

    ACCESS_KEYS_CREATE = "access-keys:create"
    ACCESS_KEYS_READ = "access-keys:read"
    ACCESS_KEYS_ROTATE = "access-keys:rotate"
    ACCESS_KEYS_REVOKE = "access-keys:revoke"

    ROLES_READ = "roles:read"
    ROLES_WRITE = "roles:write"

    TOKENS_REVOKE = "tokens:revoke"

    # The vault (secrets/). Grants may name a path pattern (access/resources.py):
    # ``secrets:read`` on ``apps/billing/*``. ``list`` enumerates names, only ever
    # those the caller may also ``read``; ``delete`` is the soft delete (undelete too),
    # ``destroy`` removes ciphertexts for good; ``admin`` writes metadata settings
    # (maxVersions, deleteVersionAfter, customMetadata) and deletes a whole secret.
    SECRETS_READ = "secrets:read"
    SECRETS_WRITE = "secrets:write"
    SECRETS_LIST = "secrets:list"
    SECRETS_DELETE = "secrets:delete"
    SECRETS_DESTROY = "secrets:destroy"
    SECRETS_ADMIN = "secrets:admin"
    # Certificates (pki/): EXPORT is the only one that hands out a private key.
    CERTIFICATES_READ = "certificates:read"
    CERTIFICATES_IMPORT = "certificates:import"
    CERTIFICATES_EXPORT = "certificates:export"
    CERTIFICATES_ISSUE = "certificates:issue"
    CERTIFICATES_REVOKE = "certificates:revoke"
    CERTIFICATES_ADMIN = "certificates:admin"

    AUDIT_READ = "audit:read"
    METRICS_READ = "metrics:read"

    # Shares (secrets/shares.py). Held at ``own`` scope they cover the shares the
    # principal created; at ``tenant`` scope every share of the tenant.
    SHARES_CREATE = "shares:create"
    SHARES_READ = "shares:read"
    SHARES_REVOKE = "shares:revoke"

    # Stored third-party API keys (credentials/). Grants may name a resource pattern:
    # a project for ``projects:*`` (``billing``), ``project/key`` for ``api-keys:*``
    # (``billing/*``, ``billing/stripe``). ``use``: call through the broker with it;
    # ``reveal`` returns the value itself and is never conferred by ``*`` or
    # ``api-keys:*`` (access/rbac.py EXPLICIT_ONLY): only a grant naming it.
    PROJECTS_READ = "projects:read"
    PROJECTS_WRITE = "projects:write"
    API_KEYS_READ = "api-keys:read"
    API_KEYS_WRITE = "api-keys:write"
    API_KEYS_USE = "api-keys:use"
    API_KEYS_REVEAL = "api-keys:reveal"
    # MCP access for AI agents (approvals/). ``mcp-requests:create`` asks for access
    # (an agent); ``approve`` approves or denies others' requests (never one's own);
    # ``read`` at ``own`` scope sees the principal's own requests only.
    # ``mcp-policy:write`` changes the tenant's policy (what may be approved without a
    # human): an admin's, never an approver's.
    MCP_TOOLS_REGISTER = "mcp-tools:register"
    MCP_TOOLS_READ = "mcp-tools:read"
    MCP_TOOLS_APPROVE = "mcp-tools:approve"
    MCP_TOOLS_SUSPEND = "mcp-tools:suspend"
    MCP_REQUESTS_CREATE = "mcp-requests:create"
    MCP_REQUESTS_READ = "mcp-requests:read"
    MCP_REQUESTS_APPROVE = "mcp-requests:approve"
    MCP_SESSIONS_REVOKE = "mcp-sessions:revoke"
    MCP_POLICY_READ = "mcp-policy:read"
    MCP_POLICY_WRITE = "mcp-policy:write"
