"""Run Alembic migrations programmatically on an async engine."""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.engine import Connection

from strongroom.store import grants
from strongroom.store.db import Database

MIGRATIONS = Path(__file__).parent / "migrations"


class _OnlyMigrations(logging.Filter):
    """Keep alembic's "Running upgrade ..." lines and drop the two it logs on every
    start whether or not anything migrates ("Context impl ...", "Will assume ...")."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(("Context impl", "Will assume"))


logging.getLogger("alembic.runtime.migration").addFilter(_OnlyMigrations())


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def _revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


MIGRATION_LOCK = 0x5354524F4E47  # "STRONG": the advisory lock migrations hold


async def upgrade(db: Database, revision: str = "head", *, app_role: str | None = None) -> None:
    """Migrate; on PostgreSQL, when the schema changed (or ``app_role`` is named), give
    the app roles exactly their privileges again (store/grants.py), so a table a
    migration adds is covered by the same rules as the others."""
    cfg = alembic_config()

    def _upgrade(connection: Connection) -> tuple[str | None, str | None]:
        before = _revision(connection)
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)
        return before, _revision(connection)

    async with db.engine.begin() as conn:
        if not db.is_sqlite:
            # Replicas that start together migrate one after another: the first does the
            # work, the others wait here and then find the schema at head.
            await conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATION_LOCK})
        before, after = await conn.run_sync(_upgrade)
        if db.is_sqlite or (before == after and app_role is None):
            return  # nothing changed: the serving role itself may run this at start
        roles = set(await grants.app_roles(conn))
        if app_role is not None:
            roles.add(app_role)
        for role in sorted(roles):
            await grants.grant_app(conn, role)
