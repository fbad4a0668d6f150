"""Database unavailability becomes one error, ``DatabaseUnavailable`` (503 with
Retry-After), at the engine, whatever the driver raised.

SQLAlchemy wraps a driver's DB-API errors, but not what fails before a connection
exists: asyncpg's ``ConnectionRefusedError`` or ``CannotConnectNowError`` ("the
database system is starting up") reach the caller raw, so they are translated at
``do_connect``; errors on a live connection (reset, admin shutdown, statement
timeout, a locked SQLite file) at ``handle_error``. Anything else (a syntax error,
a constraint, a bug) passes unchanged, so it stays a 500 or its own error.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Dialect, ExceptionContext
from sqlalchemy.ext.asyncio import AsyncEngine

from strongroom.errors import DatabaseUnavailable

# SQLSTATE classes and codes that mean "not now" rather than "wrong": 08 connection
# exception, 53 insufficient resources (too many connections, out of memory or disk),
# 57P01-57P05 shutdown / starting up / idle timeouts, 57014 statement timeout.
_UNAVAILABLE_CLASSES = ("08", "53")
_UNAVAILABLE_CODES = {"57014", "57P01", "57P02", "57P03", "57P04", "57P05"}
_SQLITE_BUSY = ("database is locked", "database table is locked", "unable to open database")


def is_unavailable(exc: BaseException) -> bool:
    """True when ``exc`` (or what it wraps) says the database cannot serve now."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError):  # refused, reset, unreachable, connect timeout
            return True
        code = getattr(current, "sqlstate", None) or getattr(current, "pgcode", None)
        if isinstance(code, str) and (
            code[:2] in _UNAVAILABLE_CLASSES or code in _UNAVAILABLE_CODES
        ):
            return True
        if type(current).__name__ == "OperationalError" and any(
            text in str(current) for text in _SQLITE_BUSY
        ):
            return True
        current = current.__cause__ or current.__context__
    return False


def _connect(dialect: Dialect, _rec: Any, cargs: Any, cparams: Any) -> Any:
    try:
        return dialect.connect(*cargs, **cparams)
    except Exception as exc:
        if is_unavailable(exc):
            raise DatabaseUnavailable() from exc
        raise


def _on_error(ctx: ExceptionContext) -> None:
    if ctx.is_pre_ping:
        return  # a stale pooled connection: the pool replaces it without the caller knowing
    if ctx.is_disconnect or is_unavailable(ctx.original_exception):
        # Raised from here, the pool still invalidates a dead connection (SQLAlchemy
        # does that after the handlers run).
        raise DatabaseUnavailable() from ctx.original_exception


def translate_unavailability(engine: AsyncEngine) -> None:
    event.listen(engine.sync_engine, "do_connect", _connect)
    event.listen(engine.sync_engine, "handle_error", _on_error)
