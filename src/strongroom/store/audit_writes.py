"""Write statements of the audit writer (audit/service.py): the group-commit insert
and the idempotent insert of void records."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from strongroom.store.models import AuditRecord

# PostgreSQL group commits go straight to asyncpg's pipelined executemany, inside
# SQLAlchemy's transaction on the same connection: the Core insert's per-row
# parameter processing was most of the audit writer's CPU (bench/audit_overhead.py).
PG_COLUMNS = (
    "ts", "request_id", "actor", "tenant_id", "action", "target", "outcome", "item_count",
    "client_addr", "detail", "segment_id", "seq", "prev_hash", "hash", "mac",
)  # fmt: skip
# Fixed column names and numbered placeholders only: no input reaches this text.
PG_INSERT = (
    f"INSERT INTO audit_records ({', '.join(PG_COLUMNS)}) "  # noqa: S608
    f"VALUES ({', '.join(f'${i}' for i in range(1, len(PG_COLUMNS) + 1))})"
)


async def insert_records_pg(aconn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    def values(row: dict[str, Any]) -> tuple[Any, ...]:
        detail = row.get("detail")
        encoded = None if detail is None else json.dumps(detail, separators=(",", ":"))
        return tuple(encoded if c == "detail" else row.get(c) for c in PG_COLUMNS)

    raw = await aconn.get_raw_connection()
    driver: Any = raw.driver_connection
    await driver.executemany(PG_INSERT, [values(r) for r in rows])


def insert_voids(sqlite: bool) -> Any:
    """A void whose record did commit after all (an ambiguous commit) is dropped."""
    stmt = (sqlite_insert if sqlite else pg_insert)(AuditRecord)
    return stmt.on_conflict_do_nothing(index_elements=["segment_id", "seq"])
