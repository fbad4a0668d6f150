"""row-level security: tenant isolation enforced by PostgreSQL

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 15:40:00

Every tenant-owned table gets a policy comparing the row's tenant with the
transaction-local setting ``strongroom.tenant`` (store/tenancy.py), and FORCE ROW
LEVEL SECURITY so the table owner is bound too. Unset or ``*`` means every tenant
(system work: change feed, scheduler, CLI). Child tables follow their key row: the
policy's subquery is itself filtered by the parent's policy. Superusers bypass RLS
always: the service must connect as an ordinary role (README, "PostgreSQL").
The audit tables are left out on purpose: the chain and its checkpoints span all
tenants, they are append-only by trigger, and auditors' reads filter in code.
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_VISIBLE = (
    "CREATE FUNCTION strongroom_tenant_visible(row_tenant text) RETURNS boolean "
    "LANGUAGE sql STABLE AS $$ SELECT coalesce(nullif(current_setting("
    "'strongroom.tenant', true), ''), '*') IN ('*', row_tenant) $$"
)
_DIRECT = ("user_keys", "key_tombstones", "access_keys", "custom_roles")
_CHILDREN = {
    "user_key_versions": "EXISTS (SELECT 1 FROM user_keys k WHERE k.id = key_id)",
    "user_key_history": "EXISTS (SELECT 1 FROM user_keys k WHERE k.id = key_id)",
    "key_material": "EXISTS (SELECT 1 FROM user_key_versions v WHERE v.id = version_id)",
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite is single-process and has no roles: isolation is in code
    op.execute(_VISIBLE)
    policies = {t: "strongroom_tenant_visible(tenant_id)" for t in _DIRECT} | _CHILDREN
    for table, expr in policies.items():
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY tenant_isolation ON {table} USING ({expr}) WITH CHECK ({expr})")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in (*_DIRECT, *_CHILDREN):
        op.execute(f"DROP POLICY IF EXISTS tenant_isolation ON {table}")
        op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
    op.execute("DROP FUNCTION IF EXISTS strongroom_tenant_visible(text)")
