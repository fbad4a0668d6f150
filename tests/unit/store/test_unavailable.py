"""Which database failures mean "not now" (503 SYS001 with Retry-After) and which are
errors to fix (item 11 of issue 15); the outage itself is tests/integration/
test_database_outage.py, over a real PostgreSQL that is stopped and restarted."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import asyncpg.exceptions as pg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from strongroom.api.errors import known_error
from strongroom.errors import DatabaseUnavailable, InvalidInput
from strongroom.store.db import Database
from strongroom.store.unavailable import is_unavailable


def wrapped(exc: BaseException) -> OperationalError:
    """As SQLAlchemy hands a driver error on: the driver's exception as the cause."""
    outer = OperationalError("SELECT 1", {}, exc)
    outer.__cause__ = exc
    return outer


@pytest.mark.parametrize(
    "exc",
    [
        ConnectionRefusedError(111, "Connection refused"),
        ConnectionResetError(104, "Connection reset by peer"),
        TimeoutError(),  # connect timeout
        pg.CannotConnectNowError("the database system is starting up"),
        pg.AdminShutdownError("terminating connection due to administrator command"),
        pg.QueryCanceledError("canceling statement due to statement timeout"),
        pg.TooManyConnectionsError("sorry, too many clients already"),
        pg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
        wrapped(pg.AdminShutdownError("terminating connection")),
        wrapped(sqlite3.OperationalError("database is locked")),
    ],
)
def test_unavailability(exc: BaseException) -> None:
    assert is_unavailable(exc)


@pytest.mark.parametrize(
    "exc",
    [
        pg.UndefinedTableError('relation "x" does not exist'),
        pg.UniqueViolationError("duplicate key"),
        ProgrammingError("SELECT", {}, pg.PostgresSyntaxError("syntax error")),
        IntegrityError("INSERT", {}, sqlite3.IntegrityError("UNIQUE constraint failed")),
        wrapped(sqlite3.OperationalError("no such table: x")),
        TypeError("a bug"),
        KeyError("x"),
    ],
)
def test_errors_to_fix_are_not_unavailability(exc: BaseException) -> None:
    assert not is_unavailable(exc)


def test_the_mapping_at_the_edge() -> None:
    assert isinstance(known_error(PoolTimeout("QueuePool limit reached")), DatabaseUnavailable)
    err = DatabaseUnavailable()
    assert known_error(err) is err and err.status == 503 and err.code == "SYS001"
    assert err.headers == {"Retry-After": "2"}
    assert isinstance(known_error(InvalidInput()), InvalidInput)
    assert known_error(TypeError("a bug")) is None  # stays one opaque 500


async def test_an_unreachable_database_raises_database_unavailable(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'missing' / 'dir' / 'x.db'}")
    try:
        with pytest.raises(DatabaseUnavailable):
            async with db.read() as s:
                await s.execute(text("SELECT 1"))
    finally:
        await db.dispose()


async def test_a_bad_statement_is_not_unavailability(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        with pytest.raises(OperationalError):  # "no such table": a bug, passed on as is
            async with db.read() as s:
                await s.execute(text("SELECT * FROM nowhere"))
    finally:
        await db.dispose()
