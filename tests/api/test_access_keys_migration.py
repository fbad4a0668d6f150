"""Migration 0002 on SQLite and PostgreSQL: upgrade keeps keys made under 0001 (and
they still authenticate), downgrade removes exactly what it added."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from alembic import command
from sqlalchemy import Connection, inspect, text

from strongroom.access.lifecycle import SYSTEM
from strongroom.context import Actor
from strongroom.services.container import build_services
from strongroom.store.db import Database
from strongroom.store.migrate import alembic_config
from tests.api.conftest import make_settings

NEW = {
    "created_by",
    "rotated_at",
    "previous_secret_hash",
    "previous_valid_until",
    "last_used_at",
    "last_used_addr",
}


async def migrate(db: Database, revision: str, down: bool = False) -> None:
    cfg = alembic_config()

    def run(conn: Connection) -> None:
        cfg.attributes["connection"] = conn
        (command.downgrade if down else command.upgrade)(cfg, revision)

    async with db.engine.begin() as conn:
        await conn.run_sync(run)


async def shape(db: Database) -> tuple[set[str], set[str]]:
    def read(conn: Connection) -> tuple[set[str], set[str]]:
        i = inspect(conn)
        cols = {c["name"] for c in i.get_columns("access_keys")}
        return cols, {str(x["name"]) for x in i.get_indexes("access_keys")}

    async with db.engine.connect() as conn:
        return await conn.run_sync(read)


async def test_upgrade_keeps_old_keys_and_downgrade_reverts(
    empty_database_url: str, tmp_path: Path
) -> None:
    settings = make_settings(empty_database_url, tmp_path)
    from strongroom.kms.local import create_master_key_file

    create_master_key_file(settings.kms.master_key_file)
    db = Database(empty_database_url)
    await migrate(db, "0001")
    before, _ = await shape(db)
    assert not NEW & before
    async with db.engine.begin() as conn:  # a key row as 0001 stored it
        await conn.execute(
            text(
                "INSERT INTO access_keys (id, tenant_id, roles, description, secret_hash,"
                " created_at) VALUES ('aaaaaaaaaaaaaaaa', 'default', '[\"admin\"]', 'old',"
                " :h, :t)"
            ),
            {"h": b"\0" * 32, "t": datetime.now(UTC)},
        )
    await migrate(db, "0002")
    after, indexes = await shape(db)
    assert after == before | NEW and "ix_access_keys_tenant_id" in indexes

    await migrate(db, "head")  # later revisions (e.g. the audit chain) for the services
    services = build_services(settings)
    await services.start()
    try:
        actor = Actor("system:cli", "default", "t", None)
        old = await services.access.admin.show(actor, SYSTEM, "aaaaaaaaaaaaaaaa")
        assert old.description == "old" and old.state == "active" and old.created_by is None
        key_id, key = await services.access.create("default", ["user"], "new")
        who = await services.access.authenticate(key, "t", "127.0.0.1")
        assert who.id == key_id
    finally:
        await services.close()

    await migrate(db, "0001", down=True)
    assert (await shape(db)) == (before, set())
    await migrate(db, "0002")
    assert (await shape(db))[0] == before | NEW
    await db.dispose()
