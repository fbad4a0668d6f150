"""PostgreSQL privileges of the serving role: exactly what the service needs, no more.

Run by the schema owner (``strongroom db grant-app ROLE`` or ``strongroom migrate
--app-role ROLE``). Every table is classified here; a table this catalogue does not
name gets nothing (fail closed), and a test compares the catalogue with the schema
and with the privileges the role really holds (tests/integration/test_pg_privileges.py).

- Domain tables: read and write (row-level security narrows them to the tenant).
- ``service_keys`` and ``tenant_data_keys``: read and insert only. Re-wrapping them
  (``kms rewrap``) is the owner's work, so the serving role cannot replace a signing
  key, the pepper or a tenant's data key (which would make its sealed records garbage).
- ``notices_sent``: read and insert only (a sent notice is history).
- Audit tables: read and insert only. Archival deletes as ``strongroom_audit_archiver``
  and re-wrapping segment keys updates as the owner or ``strongroom_audit_rewrapper``
  (migrations 0005 and 0009); triggers refuse everyone else even with wider grants.
- ``alembic_version``: read only (the service checks the schema is at head).

The grants are remembered by the database itself: the app roles are the roles that
may read ``alembic_version`` (only this module grants that), and a migration run that
changes the schema grants them again, so tables added later follow the same rules.
"""

from __future__ import annotations

import re

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from strongroom.errors import InvalidInput

_RW = ("SELECT", "INSERT", "UPDATE", "DELETE")
_APPEND = ("SELECT", "INSERT")
TABLE_PRIVILEGES: dict[str, tuple[str, ...]] = {
    "user_keys": _RW,
    "user_key_versions": _RW,
    "key_material": _RW,
    "user_key_history": _RW,
    "key_tombstones": _RW,
    "shares": _RW,
    "share_accesses": _RW,
    "access_keys": _RW,
    "custom_roles": _RW,
    "secrets": _RW,
    "secret_versions": _RW,
    "secret_values": _RW,
    "secret_meta": _RW,
    "certificates": _RW,
    "certificate_sans": _RW,
    "certificate_keys": _RW,
    "certificate_authorities": _RW,
    "certificate_roles": _RW,
    "projects": _RW,
    "api_keys": _RW,
    "api_key_values": _RW,
    "cluster_leases": _RW,  # scheduled jobs and once-per-period claims (store/cluster.py)
    "cluster_counters": _RW,
    "api_key_usage_hours": _RW,  # counts added by upserts; the retention job deletes
    "api_key_usage_sources": _RW,
    # MCP approvals (approvals/): registry, policies, requests, decisions, sessions, tokens
    "mcp_tools": _RW,
    "mcp_policies": _RW,
    "mcp_requests": _RW,
    "mcp_decisions": _RW,
    "mcp_sessions": _RW,
    "mcp_proxy_tokens": _RW,
    "idempotency_keys": _RW,  # first answers to writes; the expiry job deletes
    "approval_page_sessions": _RW,  # approvals page sign-ins; logout and expiry delete
    "revoked_tokens": _APPEND,
    "service_keys": _APPEND,
    "tenant_data_keys": _APPEND,
    "notices_sent": _APPEND,
    "audit_records": _APPEND,
    "audit_segments": _APPEND,
    "audit_checkpoints": _APPEND,
    "alembic_version": ("SELECT",),
}
MARKER_TABLE = "alembic_version"
# An unquoted PostgreSQL identifier; the role name is spliced into GRANT statements.
_ROLE = re.compile(r"^[a-z_][a-z0-9_$]{0,62}$")


def check_role(role: str) -> str:
    if not _ROLE.match(role):
        raise InvalidInput(f"role name {role!r} must be a lower-case PostgreSQL identifier")
    return role


async def _tables(conn: AsyncConnection) -> list[str]:
    q = text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
    return sorted((await conn.execute(q)).scalars().all())


async def grant_app(conn: AsyncConnection, role: str) -> list[str]:
    """Give ``role`` exactly the catalogue's privileges on this schema (revoking any
    others first); return the tables it was given nothing on because the catalogue
    does not know them."""
    role = check_role(role)
    exists = await conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role})
    if exists.scalar() is None:
        raise InvalidInput(f"role {role!r} does not exist")
    unknown: list[str] = []
    await conn.execute(text(f'GRANT USAGE ON SCHEMA "{await _schema(conn)}" TO {role}'))
    for table in await _tables(conn):
        await conn.execute(text(f'REVOKE ALL ON TABLE "{table}" FROM {role}'))
        privileges = TABLE_PRIVILEGES.get(table)
        if privileges is None:
            unknown.append(table)
            continue
        await conn.execute(text(f'GRANT {", ".join(privileges)} ON TABLE "{table}" TO {role}'))
    # Identity and serial columns of the tables it inserts into: nextval needs USAGE.
    seqs = text("SELECT sequencename FROM pg_sequences WHERE schemaname = current_schema()")
    for seq in (await conn.execute(seqs)).scalars().all():
        await conn.execute(text(f'REVOKE ALL ON SEQUENCE "{seq}" FROM {role}'))
        await conn.execute(text(f'GRANT USAGE ON SEQUENCE "{seq}" TO {role}'))
    return unknown


async def _schema(conn: AsyncConnection) -> str:
    return str((await conn.execute(text("SELECT current_schema()"))).scalar_one())


async def app_roles(conn: AsyncConnection) -> list[str]:
    """The roles an earlier ``grant_app`` set up (see the module docstring)."""
    q = text(
        "SELECT DISTINCT a.grantee::regrole::text FROM pg_class c, aclexplode(c.relacl) a "
        "WHERE c.oid = to_regclass(:t) AND a.grantee <> 0 AND a.grantee <> c.relowner "
        "AND a.privilege_type = 'SELECT'"
    )
    roles = (await conn.execute(q, {"t": MARKER_TABLE})).scalars().all()
    return sorted(r for r in roles if _ROLE.match(r))
