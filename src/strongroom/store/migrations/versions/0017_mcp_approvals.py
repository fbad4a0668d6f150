"""MCP approvals: tool registry, tenant policies, access requests, decisions,
sessions and proxy tokens

Revision ID: 0017
Revises: 0013 (main's head when written; the lead re-chains it at merge)
Create Date: 2026-12-03 06:30:00

Every table carries its tenant and gets migration 0007's tenant policy (FORCE ROW
LEVEL SECURITY) on PostgreSQL. A proxy token is stored only as its SHA-256
(``mcp_proxy_tokens.token_hash``); the token itself is shown once.
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)
_TABLES = (
    "mcp_tools",
    "mcp_policies",
    "mcp_requests",
    "mcp_decisions",
    "mcp_sessions",
    "mcp_proxy_tokens",
)
_POLICY = "strongroom_tenant_visible(tenant_id)"


def _tenant() -> sa.Column[str]:
    return sa.Column("tenant_id", sa.String(length=64), nullable=False)


def upgrade() -> None:
    op.create_table(
        "mcp_tools",
        sa.Column("id", _ID, nullable=False),
        _tenant(),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("client_id", sa.String(length=200), nullable=False),
        sa.Column("schema_sha256", sa.String(length=64), nullable=False),
        sa.Column("observed_sha256", sa.String(length=64), nullable=True),
        sa.Column("hosts", sa.JSON(), nullable=False),
        sa.Column("methods", sa.JSON(), nullable=False),
        sa.Column("tier", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("status_reason", sa.String(length=32), nullable=True),
        sa.Column("annotations", sa.JSON(), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tenant_id", "name", "client_id", name="uq_mcp_tools_identity"),
    )
    op.create_table(
        "mcp_policies",
        sa.Column("id", _ID, nullable=False),
        _tenant(),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("threshold", sa.Integer(), nullable=False),
        sa.Column("duration_cap_seconds", sa.Integer(), nullable=False),
        sa.Column("second_approver", sa.Boolean(), nullable=False),
        sa.Column("pending_expiry_seconds", sa.Integer(), nullable=False),
        sa.Column("session_max_seconds", sa.Integer(), nullable=False),
        sa.Column("business_start_hour", sa.Integer(), nullable=False),
        sa.Column("business_end_hour", sa.Integer(), nullable=False),
        sa.Column("new_tool_seconds", sa.Integer(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tenant_id", "version", name="uq_mcp_policies_version"),
    )
    op.create_table(
        "mcp_requests",
        sa.Column("id", sa.String(length=32), nullable=False),
        _tenant(),
        sa.Column("tool_id", _ID, nullable=False),
        sa.Column("tool_name", sa.String(length=128), nullable=False),
        sa.Column("client_id", sa.String(length=200), nullable=False),
        sa.Column("schema_sha256", sa.String(length=64), nullable=False),
        sa.Column("project", sa.String(length=128), nullable=False),
        sa.Column("key_name", sa.String(length=128), nullable=False),
        sa.Column("hosts", sa.JSON(), nullable=False),
        sa.Column("methods", sa.JSON(), nullable=False),
        sa.Column("duration_seconds", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=500), nullable=False),
        sa.Column("requester", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("factors", sa.JSON(), nullable=False),
        sa.Column("policy_version", sa.Integer(), nullable=False),
        sa.Column("approvals_needed", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("expires_at", _TS, nullable=False),
        sa.Column("decided_at", _TS, nullable=True),
        sa.Column("session_id", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(["tool_id"], ["mcp_tools.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("session_id", name="uq_mcp_requests_session"),
    )
    op.create_index("ix_mcp_requests_status", "mcp_requests", ["tenant_id", "status", "created_at"])
    op.create_index("ix_mcp_requests_requester", "mcp_requests", ["tenant_id", "requester"])
    op.create_index("ix_mcp_requests_expiry", "mcp_requests", ["status", "expires_at"])
    op.create_table(
        "mcp_decisions",
        sa.Column("id", _ID, nullable=False),
        sa.Column("request_id", sa.String(length=32), nullable=False),
        _tenant(),
        sa.Column("approver", sa.String(length=200), nullable=False),
        sa.Column("approve", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("at", _TS, nullable=False),
        sa.ForeignKeyConstraint(["request_id"], ["mcp_requests.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("request_id", "approver", name="uq_mcp_decisions_approver"),
    )
    op.create_table(
        "mcp_sessions",
        sa.Column("id", sa.String(length=32), nullable=False),
        _tenant(),
        sa.Column("request_id", sa.String(length=32), nullable=False),
        sa.Column("principal", sa.String(length=200), nullable=False),
        sa.Column("client_id", sa.String(length=200), nullable=False),
        sa.Column("tool_id", _ID, nullable=False),
        sa.Column("project", sa.String(length=128), nullable=False),
        sa.Column("key_name", sa.String(length=128), nullable=False),
        sa.Column("audience", sa.String(length=200), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("expires_at", _TS, nullable=False),
        sa.Column("revoked_at", _TS, nullable=True),
        sa.Column("revoked_by", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(["request_id"], ["mcp_requests.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("request_id", name="uq_mcp_sessions_request"),
    )
    op.create_table(
        "mcp_proxy_tokens",
        sa.Column("id", _ID, nullable=False),
        _tenant(),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("session_id", sa.String(length=32), nullable=False),
        sa.Column("project", sa.String(length=128), nullable=False),
        sa.Column("key_name", sa.String(length=128), nullable=False),
        sa.Column("hosts", sa.JSON(), nullable=False),
        sa.Column("methods", sa.JSON(), nullable=False),
        sa.Column("expires_at", _TS, nullable=False),
        sa.Column("uses_left", sa.Integer(), nullable=True),
        sa.Column("last_used_at", _TS, nullable=True),
        sa.ForeignKeyConstraint(["session_id"], ["mcp_sessions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash", name="uq_mcp_proxy_tokens_hash"),
    )
    op.create_index("ix_mcp_proxy_tokens_session", "mcp_proxy_tokens", ["session_id"])
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite: one process, no roles; isolation is in code
    for table in _TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY tenant_isolation ON {table} USING ({_POLICY}) WITH CHECK ({_POLICY})"
        )


def downgrade() -> None:
    for table in reversed(_TABLES):
        op.drop_table(table)
