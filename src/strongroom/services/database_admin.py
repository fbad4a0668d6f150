"""Operator work on the database itself: the serving role's PostgreSQL privileges.

Run as the schema owner (the login that runs ``strongroom migrate``), never as the
serving role, which may not grant (store/grants.py has the rules)."""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError

from strongroom.errors import InvalidInput
from strongroom.store import grants
from strongroom.store.db import Database


async def grant_app(db: Database, role: str) -> list[str]:
    """Give ``role`` exactly what serving needs; returns tables it got nothing on
    because no rule names them (a newer schema than this program)."""
    if db.is_sqlite:
        raise InvalidInput("grants are for PostgreSQL: SQLite has no roles")
    grants.check_role(role)
    try:
        async with db.engine.begin() as conn:
            return await grants.grant_app(conn, role)
    except DBAPIError as exc:  # the login may not grant: name the cause, not the SQL
        cause = type(exc.orig).__name__ if exc.orig is not None else type(exc).__name__
        raise InvalidInput(f"cannot grant to {role}: run as the schema owner ({cause})") from exc
