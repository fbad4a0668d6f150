"""The PostgreSQL group-commit insert names every audit column (store/audit_writes.py):
a column added to the model but not to the raw insert would be silently left NULL."""

from __future__ import annotations

from datetime import UTC, datetime

from strongroom.store.audit_writes import PG_COLUMNS, PG_INSERT_BODIES, PG_INSERT_VOIDS, pg_arrays
from strongroom.store.models import AuditRecord


def test_raw_insert_covers_every_column_but_the_id() -> None:
    model = {c.name for c in AuditRecord.__table__.columns} - {"id"}
    names = [name for name, _ in PG_COLUMNS]
    assert set(names) == model
    assert len(names) == len(set(names))
    assert PG_INSERT_VOIDS.count("$") == len(PG_COLUMNS) and "DO NOTHING" in PG_INSERT_VOIDS
    assert all(name in PG_INSERT_BODIES for name in names)


def test_arrays_are_columns_in_order_with_detail_as_json_text() -> None:
    ts = datetime(2026, 1, 1, tzinfo=UTC)
    rows = [
        {name: None for name, _ in PG_COLUMNS} | {"ts": ts, "seq": 0, "detail": {"b": 1, "a": "x"}},
        {name: None for name, _ in PG_COLUMNS} | {"ts": ts, "seq": 1},
    ]
    arrays = pg_arrays(rows)
    assert len(arrays) == len(PG_COLUMNS)
    by_name = dict(zip((name for name, _ in PG_COLUMNS), arrays, strict=True))
    assert by_name["seq"] == [0, 1]
    assert by_name["detail"] == ['{"b":1,"a":"x"}', None]
