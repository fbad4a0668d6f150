"""The PostgreSQL group-commit insert names every audit column (store/audit_writes.py):
a column added to the model but not to the raw insert would be silently left NULL."""

from __future__ import annotations

from strongroom.store.audit_writes import PG_COLUMNS, PG_INSERT
from strongroom.store.models import AuditRecord


def test_raw_insert_covers_every_column_but_the_id() -> None:
    model = {c.name for c in AuditRecord.__table__.columns} - {"id"}
    assert set(PG_COLUMNS) == model
    assert len(PG_COLUMNS) == len(set(PG_COLUMNS))
    assert PG_INSERT.count("$") == len(PG_COLUMNS)
