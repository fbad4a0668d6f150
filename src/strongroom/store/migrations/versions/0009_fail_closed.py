"""row-level security fails closed; re-wrapping audit segment keys needs its own role

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 08:20:00

Row-level security: migration 0007 read an unset or empty ``strongroom.tenant`` as
every tenant, so any connection that forgot to set it saw everything. Now only
``*`` (system work, chosen explicitly: store/tenancy.py) means every tenant; unset,
empty or any other value sees the rows of exactly that tenant, i.e. none. Core
connections that touch tenant-owned tables set the scope themselves (store/db.py).

Audit segments: the trigger of 0003 let anyone with UPDATE re-wrap a segment's k0,
so a serving role holding the README's old ``GRANT ... ON ALL TABLES`` could replace
``wrapped_key`` with garbage (detected, never recoverable). An UPDATE now also needs
the current user to be the table's owner or a member of ``strongroom_audit_rewrapper``
(created here when the migrating role may create roles), the role ``kms rewrap``
runs as; the serving role is neither (store/grants.py gives it INSERT and SELECT).
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_SETTING = "coalesce(current_setting('strongroom.tenant', true), '')"
_VISIBLE = (
    "CREATE OR REPLACE FUNCTION strongroom_tenant_visible(row_tenant text) RETURNS boolean "
    "LANGUAGE sql STABLE AS $$ SELECT " + _SETTING + " = '*' "
    "OR (" + _SETTING + " <> '' AND " + _SETTING + " = row_tenant) $$"
)
_VISIBLE_0007 = (
    "CREATE OR REPLACE FUNCTION strongroom_tenant_visible(row_tenant text) RETURNS boolean "
    "LANGUAGE sql STABLE AS $$ SELECT coalesce(nullif(current_setting("
    "'strongroom.tenant', true), ''), '*') IN ('*', row_tenant) $$"
)
_ALLOWED = (
    "pg_has_role(current_user, (SELECT relowner FROM pg_class WHERE oid = TG_RELID), 'MEMBER') "
    "OR (EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'strongroom_audit_rewrapper') "
    "AND pg_has_role(current_user, 'strongroom_audit_rewrapper', 'MEMBER'))"
)
_SAME_SEGMENT = (
    "NEW.segment_id = OLD.segment_id AND NEW.opened_at = OLD.opened_at AND NEW.writer = OLD.writer"
)


def _trigger(condition: str) -> str:
    return (
        "CREATE OR REPLACE FUNCTION audit_segments_rewrap_only() RETURNS trigger "
        "LANGUAGE plpgsql AS $$ BEGIN IF TG_OP = 'UPDATE' AND "
        + condition
        + " THEN RETURN NEW; END IF; RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$"
    )


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite: one process, no roles
    op.execute(_VISIBLE)
    op.execute(
        """DO $$ BEGIN
          IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'strongroom_audit_rewrapper') THEN
            CREATE ROLE strongroom_audit_rewrapper NOLOGIN;
          END IF;
        EXCEPTION WHEN insufficient_privilege THEN
          RAISE NOTICE 'an administrator creates role strongroom_audit_rewrapper';
        END $$"""
    )
    op.execute(_trigger(_SAME_SEGMENT + " AND (" + _ALLOWED + ")"))
    op.execute(
        """DO $$ BEGIN
          IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'strongroom_audit_rewrapper') THEN
            GRANT SELECT, UPDATE (kms_key_ref, wrapped_key) ON audit_segments
              TO strongroom_audit_rewrapper;
          END IF;
        END $$"""
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        """DO $$ BEGIN
          IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'strongroom_audit_rewrapper') THEN
            REVOKE SELECT, UPDATE (kms_key_ref, wrapped_key) ON audit_segments
              FROM strongroom_audit_rewrapper;
          END IF;
        END $$"""
    )
    op.execute(_trigger(_SAME_SEGMENT))
    op.execute(_VISIBLE_0007)
