"""audit query indexes; archival path on PostgreSQL

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 16:00:00

Indexes for the auditors' filters (time, actor, action, target). On PostgreSQL the
append-only triggers gain one exception, for `strongroom audit archive` only: a row
DELETE on audit_records or audit_checkpoints passes when the transaction has set
``strongroom.audit_archive = on`` AND the current user is a member of the role
``strongroom_audit_archiver`` (created here when the migrating role may create
roles; otherwise an administrator creates it, see docs/audit-format.md "Archival").
The service's own role is not a member, so it still cannot delete, whatever it sets.
UPDATE and TRUNCATE stay refused for everyone.
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_INDEXES = (
    ("ix_audit_ts", ["ts"]),
    ("ix_audit_actor_ts", ["actor", "ts"]),
    ("ix_audit_action_ts", ["action", "ts"]),
    ("ix_audit_target", ["target"]),
)


def upgrade() -> None:
    for name, columns in _INDEXES:
        op.create_index(name, "audit_records", columns)
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        """DO $$ BEGIN
          IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'strongroom_audit_archiver') THEN
            CREATE ROLE strongroom_audit_archiver NOLOGIN;
          END IF;
        EXCEPTION WHEN insufficient_privilege THEN
          RAISE NOTICE 'an administrator creates role strongroom_audit_archiver';
        END $$"""
    )
    op.execute(
        """CREATE FUNCTION audit_archiving() RETURNS boolean LANGUAGE plpgsql STABLE AS $$
        BEGIN
          IF coalesce(current_setting('strongroom.audit_archive', true), '') <> 'on' THEN
            RETURN false;
          END IF;
          IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'strongroom_audit_archiver') THEN
            RETURN false;
          END IF;
          RETURN pg_has_role(current_user, 'strongroom_audit_archiver', 'MEMBER');
        END $$"""
    )
    op.execute(
        "CREATE OR REPLACE FUNCTION audit_records_append_only() RETURNS trigger "
        "LANGUAGE plpgsql AS $$ BEGIN "
        "IF TG_OP = 'DELETE' AND audit_archiving() THEN RETURN OLD; END IF; "
        "RAISE EXCEPTION 'audit_records is append-only'; END $$"
    )
    op.execute(
        "CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger "
        "LANGUAGE plpgsql AS $$ BEGIN "
        "IF TG_OP = 'DELETE' AND TG_LEVEL = 'ROW' AND TG_TABLE_NAME = 'audit_checkpoints' "
        "AND audit_archiving() THEN RETURN OLD; END IF; "
        "RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$"
    )
    op.execute(
        """DO $$ BEGIN
          IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'strongroom_audit_archiver') THEN
            GRANT SELECT, DELETE ON audit_records, audit_checkpoints TO strongroom_audit_archiver;
          END IF;
        END $$"""
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """DO $$ BEGIN
              IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'strongroom_audit_archiver') THEN
                REVOKE SELECT, DELETE ON audit_records, audit_checkpoints
                  FROM strongroom_audit_archiver;
              END IF;
            END $$"""
        )
        op.execute(
            "CREATE OR REPLACE FUNCTION audit_records_append_only() RETURNS trigger "
            "LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'audit_records is append-only'; END $$"
        )
        op.execute(
            "CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$"
        )
        op.execute("DROP FUNCTION IF EXISTS audit_archiving()")
    for name, _ in reversed(_INDEXES):
        op.drop_index(name, table_name="audit_records")
