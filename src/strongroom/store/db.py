"""Async engine and transactions for SQLite (default) and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session
from sqlalchemy.pool import StaticPool

from strongroom.store.tenancy import current_tenant
from strongroom.store.unavailable import translate_unavailability


def normalise_url(url: str) -> str:
    """Accept plain ``postgresql://`` and ``sqlite://`` URLs and pick the async driver."""
    u = make_url(url)
    if u.drivername in ("postgresql", "postgres"):
        u = u.set(drivername="postgresql+asyncpg")
    elif u.drivername == "sqlite":
        u = u.set(drivername="sqlite+aiosqlite")
    return u.render_as_string(hide_password=False)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any, busy_ms: int = 10000) -> None:
    cur = dbapi_conn.cursor()
    # WAL lets readers run beside the writer; secure_delete zeroes freed pages so
    # destroyed key material does not linger in the file.
    for pragma in (
        "journal_mode=WAL",
        "synchronous=FULL",
        f"busy_timeout={busy_ms}",
        "foreign_keys=ON",
        "secure_delete=ON",
    ):
        cur.execute(f"PRAGMA {pragma}")
    cur.close()


class _TenantSession(Session):
    """ORM sessions that carry the task's tenant into PostgreSQL (store/tenancy.py)."""


@event.listens_for(_TenantSession, "after_begin")
def _apply_tenant(session: Session, _tx: Any, connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        # Transaction-local: pooled connections never carry it to another request.
        # Always set, so that a task with no scope (NONE) sees nothing, not everything.
        connection.execute(_SET_TENANT, {"t": current_tenant()})


_PURGEABLE = frozenset({"key_material", "secret_values", "api_key_values"})
_SET_TENANT = text("SELECT set_config('strongroom.tenant', :t, true)")


class Database:
    def __init__(self, url: str, *, echo: bool = False, dedicated: bool = False) -> None:
        """``dedicated``: one connection and no writer pool of its own (``dedicated()``)."""
        self.url = normalise_url(url)
        self.is_sqlite = self.url.startswith("sqlite")
        self._echo = echo
        kwargs: dict[str, Any] = {"echo": echo}
        if dedicated:
            kwargs.update(pool_size=1, max_overflow=0, pool_pre_ping=not self.is_sqlite)
        elif not self.is_sqlite:
            kwargs.update(pool_size=8, max_overflow=8, pool_pre_ping=True)
        self.engine: AsyncEngine = create_async_engine(self.url, **kwargs)
        # The audit writer's own small pool: no pre-ping round trip on each group
        # commit (a dead connection fails one batch, which is retried as voids, and
        # is then replaced); it never waits behind request transactions for a slot.
        self.writer_engine: AsyncEngine = (
            self.engine
            if self.is_sqlite or dedicated
            else create_async_engine(
                self.url, echo=echo, pool_size=2, max_overflow=2, pool_recycle=300
            )
        )
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        for engine in {self.engine, self.writer_engine}:
            translate_unavailability(engine)
        self.sessions = async_sessionmaker(
            self.engine, expire_on_commit=False, sync_session_class=_TenantSession
        )

    @property
    def is_memory(self) -> bool:
        """An in-memory SQLite database: another engine would see another database."""
        u = make_url(self.url)
        return self.is_sqlite and (u.database in (None, "", ":memory:") or "memory" in self.url)

    def dedicated(self) -> Database:
        """The same database over one connection of its own, for work that must never
        wait behind requests for a pooled connection (the key change feed). Build, use
        and dispose it on one event loop: asyncpg connections belong to their loop."""
        return Database(self.url, echo=self._echo, dedicated=True)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session inside one transaction: committed on success, rolled back on error."""
        async with self.sessions() as session, session.begin():
            yield session

    @asynccontextmanager
    async def core_transaction(self) -> AsyncIterator[AsyncConnection]:
        """A Core connection inside one transaction that carries the task's tenant scope
        like ORM sessions do: row-level security shows an unscoped one no rows."""
        async with self.engine.begin() as conn:
            if not self.is_sqlite:
                await conn.execute(_SET_TENANT, {"t": current_tenant()})
            yield conn

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        async with self.sessions() as session:
            yield session

    def blocking_sqlite_engine(self, busy_ms: int = 10000) -> Engine:
        """A synchronous engine on the same SQLite file, for a writer thread of its own
        (see audit.service): one hand-off per group commit instead of aiosqlite's one
        per statement, and fsync or a WAL checkpoint never stalls the event loop."""
        url = make_url(self.url).set(drivername="sqlite")
        engine = create_engine(
            url, poolclass=StaticPool, connect_args={"check_same_thread": False, "timeout": 0}
        )
        event.listen(engine, "connect", lambda c, r: _sqlite_pragmas(c, r, busy_ms))
        return engine

    async def purge_freed_pages(self, table: str = "key_material") -> None:
        """After destroying material: push the WAL into the main file and truncate it
        (SQLite; ``secure_delete`` zeroed the freed pages), or vacuum ``table``
        (PostgreSQL; a role that does not own it is told so and nothing happens)."""
        if table not in _PURGEABLE:
            raise ValueError("not a table of destroyable material")
        if self.is_sqlite:
            async with self.engine.connect() as conn:
                await conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
        else:
            async with self.engine.connect() as conn:
                conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
                await conn.execute(text(f"VACUUM {table}"))

    @asynccontextmanager
    async def exclusive(self, key: int) -> AsyncIterator[None]:
        """Cluster-wide mutual exclusion for start-up work (a PostgreSQL advisory lock
        held on one connection for the block). SQLite has one process: nothing to do."""
        if self.is_sqlite:
            yield
            return
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": key})
            try:
                yield
            finally:
                await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})

    async def ping(self) -> bool:
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            return True
        except Exception:
            return False

    async def dispose(self) -> None:
        if self.writer_engine is not self.engine:
            await self.writer_engine.dispose()
        await self.engine.dispose()
