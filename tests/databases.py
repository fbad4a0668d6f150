"""Migrated database templates: run the Alembic migrations once per test process,
then give each test a copy.

Running every migration for every test was the largest fixed cost of the API suite.
A copy has exactly the schema the migrations produce (it *is* their output), including
PostgreSQL's row-level-security policies, functions and grants; cluster-wide objects
(the ``strongroom_app`` and ``strongroom_audit_archiver`` roles) are shared anyway.

Copies rather than one database with a savepoint rolled back per test: the audit
writer commits on its own engine and connections, several tests run two services
(replicas) or a CLI subprocess on the same database, and some tests migrate
themselves; a rollback could not undo their work, a fresh copy needs nothing undone.

Loaded as a plugin from ``tests/conftest.py``. Fixtures (session scope, so one per
pytest-xdist worker, each on its worker's own PostgreSQL server):

``sqlite_template``
    Path of a migrated SQLite file; ``clone_sqlite(template, path)`` copies it.
``postgres_template``
    Name of a migrated database on ``postgres_server``;
    ``postgres_server.create_database(template=...)`` clones it.
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import pytest

from strongroom.store.db import Database
from strongroom.store.migrate import upgrade
from tests.services import PostgresServer


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


def clone_sqlite(template: Path, path: Path) -> str:
    """Copy the migrated file to ``path``; return its SQLAlchemy URL."""
    shutil.copyfile(template, path)
    return sqlite_url(path)


async def _migrate(url: str, app_role: str | None = None) -> None:
    db = Database(url)
    try:
        await upgrade(db, app_role=app_role)
    finally:
        # No connection may stay open: PostgreSQL refuses to copy a template in use,
        # and SQLite folds its write-ahead log back into the file on the last close.
        await db.dispose()


@pytest.fixture(scope="session")
async def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "migrated.db"
    await _migrate(sqlite_url(path))
    return path


@pytest.fixture(scope="session")
async def postgres_template(postgres_server: PostgresServer) -> str:
    name = f"template_{uuid.uuid4().hex[:12]}"
    # The serving role's grants (store/grants.py) are copied with the template.
    await _migrate(postgres_server.create_database(name), postgres_server.app_role)
    return name
