"""The PostgreSQL group writer (store/audit_writes.py) stores a record from its
hashed body: what comes back from the table must be what was hashed, for awkward
values too (non-ASCII, quotes, NULLs, floats and nesting in ``detail``,
microseconds), and voids must go in beside records in one transaction."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from strongroom.audit.actions import ChainAction
from strongroom.audit.chain import SegmentChain, record_body, record_hash, system_row
from strongroom.store.audit_writes import PgGroupWriter
from strongroom.store.db import Database
from strongroom.store.migrate import upgrade
from strongroom.store.models import AuditRecord
from tests.services import PostgresServer

ROWS: list[dict[str, Any]] = [
    {
        "ts": datetime(2026, 3, 1, 12, 0, 0, 123457, tzinfo=UTC),
        "request_id": "r-1",
        "actor": 'ak "quoted" \\ back',
        "tenant_id": "default",
        "action": "key.decrypt",
        "target": "Zoë ☃ 𝄞",
        "outcome": "success",
        "item_count": 100,
        "client_addr": "2001:db8::1",
        "detail": {"b": 1.5, "a": [1, "x", None, {"z": 1e20}], "hmac": {"k": "hmac:00"}},
    },
    {
        "ts": datetime(1999, 12, 31, 23, 59, 59, tzinfo=UTC),
        "request_id": "r-2",
        "actor": "system:cli",
        "tenant_id": "t2",
        "action": "api.read",
        "target": None,
        "outcome": "denied",
        "item_count": None,
        "client_addr": None,
        "detail": None,
    },
]


async def test_stored_rows_are_what_was_hashed(postgres_server: PostgresServer) -> None:
    db = Database(str(postgres_server.create_database(f"w_{uuid.uuid4().hex[:12]}")))
    await upgrade(db)
    writer = PgGroupWriter(db.writer_engine)
    chain = SegmentChain(uuid.uuid4().hex, os.urandom(32))
    try:
        sealed = [chain.seal_with_body(dict(r)) for r in ROWS]
        await writer.write([], [s for s, _, _ in sealed], [b for _, _, b in sealed])
        # A void (of a record whose write "failed") goes in with the next group.
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
    assert [g["seq"] for g in got] == [0, 1, 2, 3]
    for g, (want, _, body) in zip(got[:2], sealed, strict=True):
        assert {k: g[k] for k in want} == want
        assert record_body(g["segment_id"], g["seq"], g["prev_hash"], g) == body
        assert record_hash(body) == g["hash"]
    assert got[2]["action"] == "audit.void" and got[2]["hash"] == lost[0]["hash"]
    assert got[3]["prev_hash"] == lost[0]["hash"]
