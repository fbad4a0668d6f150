"""The SQLite group writer (store/audit_writes.py) hands its rows to the driver
itself: the table must hold byte for byte what SQLAlchemy Core would have stored for
the same rows (timestamps, ``detail`` JSON, NULLs, non-ASCII), what comes back must be
what was hashed, voids go in beside records and a repeated void is dropped."""

from __future__ import annotations

import os
import sqlite3
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select

from strongroom.audit.actions import ChainAction
from strongroom.audit.chain import SegmentChain, record_body, record_hash, system_row
from strongroom.store.audit_writes import SqliteGroupWriter
from strongroom.store.db import Database
from strongroom.store.migrate import upgrade
from strongroom.store.models import AuditRecord
from tests.integration.test_audit_pg_writer import ROWS


def _raw_rows(path: Path) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path) as conn:
        cols = [c.name for c in AuditRecord.__table__.columns if c.name != "id"]
        sql = f"SELECT {', '.join(cols)} FROM audit_records ORDER BY seq"
        return list(conn.execute(sql))


async def _db(path: Path) -> Database:
    db = Database(f"sqlite+aiosqlite:///{path}")
    await upgrade(db)
    return db


async def test_stored_rows_are_what_sqlalchemy_stores_and_what_was_hashed(
    tmp_path: Path,
) -> None:
    chain = SegmentChain(uuid.uuid4().hex, os.urandom(32))
    sealed = [chain.seal_with_body(dict(r)) for r in ROWS]
    rows = [s for s, _, _ in sealed]
    # The same rows through SQLAlchemy Core, into a database of their own.
    core = await _db(tmp_path / "core.db")
    engine = core.blocking_sqlite_engine()
    with engine.begin() as conn:
        conn.execute(insert(AuditRecord), rows)
    engine.dispose()
    await core.dispose()

    db = await _db(tmp_path / "raw.db")
    writer = SqliteGroupWriter(db.blocking_sqlite_engine())
    try:
        await writer.write([], rows, [b for _, _, b in sealed])
        lost = chain.seal_with_body(dict(ROWS[0]))
        void = chain.void(lost[1], datetime(2026, 3, 1, tzinfo=UTC))
        after = chain.seal_with_body(system_row(ChainAction.HEARTBEAT, datetime.now(UTC), None))
        await writer.write([void], [after[0]], [after[2]])
        await writer.write([void], [], [])  # a repeated void is dropped, not an error
        async with db.read() as s:
            stored = (await s.execute(select(AuditRecord).order_by(AuditRecord.seq))).scalars()
            got = [
                {c.name: getattr(r, c.name) for c in AuditRecord.__table__.columns} for r in stored
            ]
    finally:
        await writer.close()
        await db.dispose()
    assert _raw_rows(tmp_path / "raw.db")[:2] == _raw_rows(tmp_path / "core.db")
    assert [g["seq"] for g in got] == [0, 1, 2, 3]
    for g, (want, _, body) in zip(got[:2], sealed, strict=True):
        assert {k: g[k] for k in want} == want
        assert record_body(g["segment_id"], g["seq"], g["prev_hash"], g) == body
        assert record_hash(body) == g["hash"]
    assert got[2]["action"] == "audit.void" and got[2]["hash"] == lost[0]["hash"]
    assert got[3]["prev_hash"] == lost[0]["hash"]


async def test_a_failed_group_leaves_nothing_and_the_next_one_commits(tmp_path: Path) -> None:
    db = await _db(tmp_path / "raw.db")
    writer = SqliteGroupWriter(db.blocking_sqlite_engine())
    chain = SegmentChain(uuid.uuid4().hex, os.urandom(32))
    try:
        good = chain.seal_with_body(dict(ROWS[0]))[0]
        clash = {**chain.seal_with_body(dict(ROWS[1]))[0], "seq": good["seq"]}  # unique index
        try:
            await writer.write([], [good, clash], [])
        except sqlite3.IntegrityError:
            pass
        else:
            raise AssertionError("a duplicate (segment, seq) must fail the group")
        assert _raw_rows(tmp_path / "raw.db") == []
        await writer.write([], [good], [])
    finally:
        await writer.close()
        await db.dispose()
    assert [r[11] for r in _raw_rows(tmp_path / "raw.db")] == [good["seq"]]
