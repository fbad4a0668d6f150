"""Group writers of the audit log (audit/service.py): each writes one group of sealed
records, after the void records that replace earlier failed ones, all or nothing."""

from __future__ import annotations

import asyncio
import contextlib
import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from strongroom.store.models import AuditRecord

# A PostgreSQL group goes to the server as ONE statement, so it costs one round trip
# and the server plans once whatever its size; a single statement is atomic, and in
# autocommit it has committed (fsync included unless the operator relaxed
# synchronous_commit) when it returns. No BEGIN/COMMIT pair, pool checkout or reset.
#
# Records travel as their hashed bodies (audit/chain.py: canonical JSON holding every
# column but hash and mac), joined by position to arrays of hashes and MACs: the body
# is already built for hashing, so encoding a record costs almost nothing here, and
# what is stored is read from exactly what was hashed. ``detail`` is typed json, so
# its text is stored as it was hashed. bench/audit_overhead.py measured per-column
# parameter encoding at ~3x the writer's CPU per record.
PG_COLUMNS = (
    ("ts", "timestamptz"), ("request_id", "text"), ("actor", "text"),
    ("tenant_id", "text"), ("action", "text"), ("target", "text"), ("outcome", "text"),
    ("item_count", "int4"), ("client_addr", "text"), ("detail", "json"),
    ("segment_id", "text"), ("seq", "int8"), ("prev_hash", "bytea"), ("hash", "bytea"),
    ("mac", "bytea"),
)  # fmt: skip
_NAMES = ", ".join(name for name, _ in PG_COLUMNS)
# Fixed column names, wire names and numbered placeholders only: no input reaches
# these texts. Body fields by wire name: docs/audit-format.md.
PG_INSERT_BODIES = (
    f"INSERT INTO audit_records ({_NAMES}) "  # noqa: S608
    "SELECT timestamptz 'epoch' + r.ts * interval '1 microsecond', r.rid, r.actor, "
    "r.tenant, r.action, r.target, r.outcome, r.items, r.addr, r.detail, r.seg, r.seq, "
    "decode(r.prev, 'hex'), m.hash, m.mac "
    "FROM ROWS FROM (json_to_recordset($1::json) AS (ts bigint, rid text, actor text, "
    "tenant text, action text, target text, outcome text, items int4, addr text, "
    "detail json, seg text, seq int8, prev text)) WITH ORDINALITY AS r(ts, rid, actor, "
    "tenant, action, target, outcome, items, addr, detail, seg, seq, prev, i) "
    "JOIN unnest($2::bytea[], $3::bytea[]) WITH ORDINALITY AS m(hash, mac, i) USING (i)"
)
# Voids (rare: a record whose write failed) go column by column. A void whose record
# did commit after all (an ambiguous commit) is dropped.
_ARRAYS = ", ".join(f"${i}::{kind}[]" for i, (_, kind) in enumerate(PG_COLUMNS, 1))
PG_INSERT_VOIDS = (
    f"INSERT INTO audit_records ({_NAMES}) SELECT * FROM unnest({_ARRAYS}) "  # noqa: S608
    "ON CONFLICT (segment_id, seq) DO NOTHING"
)


def pg_arrays(rows: list[dict[str, Any]]) -> list[list[Any]]:
    """One list per column of PG_COLUMNS, in order (``detail`` as JSON text)."""
    arrays: list[list[Any]] = [[row.get(name) for row in rows] for name, _ in PG_COLUMNS]
    details = arrays[9]
    for i, d in enumerate(details):
        if d is not None:
            details[i] = json.dumps(d, separators=(",", ":"))
    return arrays


def body_params(
    rows: list[dict[str, Any]], bodies: list[bytes]
) -> tuple[str, list[bytes], list[bytes]]:
    """PG_INSERT_BODIES's parameters: the bodies as one JSON array, hashes, MACs."""
    return (
        (b"[" + b",".join(bodies) + b"]").decode("ascii"),  # one decode per group
        [r["hash"] for r in rows],
        [r["mac"] for r in rows],
    )


class PgGroupWriter:
    """The audit writer's connection to PostgreSQL: one pooled connection held for
    the process (groups are written one at a time), replaced after any error, since
    a failed write may have left it in an unknown state. SQLAlchemy never runs a
    statement on it, so it never opens a transaction: asyncpg is in autocommit."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._conn: AsyncConnection | None = None
        self._driver: Any = None

    async def write(
        self, voids: list[dict[str, Any]], rows: list[dict[str, Any]], bodies: list[bytes]
    ) -> None:
        """Insert sealed ``rows`` (``bodies`` their hashed bodies, in order) after
        ``voids``, all or nothing."""
        try:
            if self._conn is None:
                self._conn = await self._engine.connect()
                self._driver = (await self._conn.get_raw_connection()).driver_connection
            if not voids:
                await self._driver.execute(PG_INSERT_BODIES, *body_params(rows, bodies))
                return
            async with self._driver.transaction():
                await self._driver.execute(PG_INSERT_VOIDS, *pg_arrays(voids))
                if rows:
                    await self._driver.execute(PG_INSERT_BODIES, *body_params(rows, bodies))
        except BaseException:
            await self._drop(invalidate=True)
            raise

    async def _drop(self, *, invalidate: bool) -> None:
        conn, self._conn, self._driver = self._conn, None, None
        if conn is not None:
            with contextlib.suppress(Exception):  # already broken: nothing more to lose
                if invalidate:
                    await conn.invalidate()
                await conn.close()

    async def close(self) -> None:
        await self._drop(invalidate=False)


# The SQLite group as the driver sees it: one positional row per record, each value
# through its column type's own bind processor (the timestamp as SQLAlchemy stores it,
# ``detail`` as its JSON), so what is stored is what SQLAlchemy would have stored.
SQLITE_COLUMNS = tuple(name for name, _ in PG_COLUMNS)
_SQLITE_NAMES = ", ".join(SQLITE_COLUMNS)
_MARKS = ", ".join("?" for _ in SQLITE_COLUMNS)
# Fixed column names and placeholders only: no input reaches these texts.
SQLITE_INSERT = f"INSERT INTO audit_records ({_SQLITE_NAMES}) VALUES ({_MARKS})"  # noqa: S608
SQLITE_INSERT_VOIDS = SQLITE_INSERT + " ON CONFLICT (segment_id, seq) DO NOTHING"


class SqliteGroupWriter:
    """One ``executemany`` + commit on a plain sqlite3 connection owned by one writer
    thread: a single hand-off per group (aiosqlite makes one per statement, each
    queueing behind the GIL while requests burn CPU), and the commit's fsync (p99
    ~5 ms here, WAL checkpoints ~20-40 ms) never blocks the event loop. The statements
    go to the driver directly: SQLAlchemy's per-execution machinery (connection
    checkout, transaction objects, parameter compilation) was most of the writer
    thread's CPU per group."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._thread = ThreadPoolExecutor(1, "audit-writer")
        self._closed = False
        table = AuditRecord.__table__
        self._binds = [
            table.c[name].type.dialect_impl(engine.dialect).bind_processor(engine.dialect)
            for name in SQLITE_COLUMNS
        ]
        self._raw: Any = None  # the driver connection, opened in the writer thread

    async def write(
        self, voids: list[dict[str, Any]], rows: list[dict[str, Any]], bodies: list[bytes]
    ) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._thread, self._write, voids, rows)

    def _params(self, rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
        binds = self._binds
        return [
            tuple(
                value if bind is None else bind(value)  # None too: JSON's is 'null'
                for bind, value in zip(binds, (row.get(n) for n in SQLITE_COLUMNS), strict=True)
            )
            for row in rows
        ]

    def _write(self, voids: list[dict[str, Any]], rows: list[dict[str, Any]]) -> None:
        if self._raw is None:
            self._raw = self._engine.raw_connection()
        raw = self._raw
        try:
            cur = raw.cursor()
            try:
                if voids:
                    # A void whose record did commit after all (ambiguous commit) is dropped.
                    cur.executemany(SQLITE_INSERT_VOIDS, self._params(voids))
                if rows:
                    cur.executemany(SQLITE_INSERT, self._params(rows))
            finally:
                cur.close()
            raw.commit()
        except BaseException:
            # All or nothing: nothing of the group stays pending on the connection; a
            # connection that cannot even roll back is replaced.
            try:
                raw.rollback()
            except Exception:
                self._drop()
            raise

    def _drop(self) -> None:
        raw, self._raw = self._raw, None
        if raw is not None:
            with contextlib.suppress(Exception):
                raw.invalidate()

    def _close(self) -> None:
        raw, self._raw = self._raw, None
        if raw is not None:
            raw.close()

    async def close(self) -> None:
        """Idempotent: a service closed twice (a test's replica "killed", then its
        fixture's teardown) must not fail on the writer thread already gone."""
        if self._closed:
            return
        self._closed = True
        self._thread.submit(self._close)
        self._thread.shutdown(wait=True)
        self._engine.dispose()
