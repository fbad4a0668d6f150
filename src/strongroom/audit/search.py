"""Filtered, paginated reads of the trail for auditors, aware of keyed HMACs.

A value the operator marked sensitive is stored only as its tag (audit/redact.py), so
a filter on a target, or a lookup of a value, matches the value itself and its tag.
Pages run in write (id) order; the cursor is the last id returned, opaque to clients.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from strongroom.audit.redact import AuditHasher
from strongroom.errors import InvalidInput
from strongroom.store import audit_repo
from strongroom.store.audit_repo import RecordFilter
from strongroom.store.db import Database
from strongroom.store.models import AuditRecord

MAX_PAGE = 1000


@dataclass(frozen=True)
class RecordView:
    id: int
    ts: datetime
    request_id: str
    actor: str
    tenant: str
    action: str
    target: str | None
    outcome: str
    item_count: int | None
    client_addr: str | None
    detail: dict[str, Any] | None
    segment: str | None
    seq: int | None
    hash: str | None

    @classmethod
    def of(cls, r: AuditRecord) -> RecordView:
        return cls(
            r.id,
            r.ts,
            r.request_id,
            r.actor,
            r.tenant_id,
            r.action,
            r.target,
            r.outcome,
            r.item_count,
            r.client_addr,
            dict(r.detail) if r.detail is not None else None,
            r.segment_id,
            r.seq,
            bytes(r.hash).hex() if r.hash is not None else None,
        )


@dataclass(frozen=True)
class Page:
    records: list[RecordView]
    next_cursor: str | None


def parse_cursor(cursor: str | None) -> int | None:
    if cursor is None or cursor == "":
        return None
    if not cursor.isdigit() or len(cursor) > 19:
        raise InvalidInput("bad cursor")
    return int(cursor)


async def search(db: Database, f: RecordFilter, cursor: str | None, limit: int) -> Page:
    limit = max(1, min(limit, MAX_PAGE))
    after = parse_cursor(cursor)
    async with db.read() as s:
        rows = await audit_repo.search(s, f, after, limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return Page([RecordView.of(r) for r in rows], str(rows[-1].id) if more else None)


def with_target(f: RecordFilter, target: str | None, hasher: AuditHasher) -> RecordFilter:
    """``target`` matched in clear and as its tag (whichever the writer stored)."""
    if target is None:
        return f
    return replace(f, targets=(target, hasher.tag(target)))


def mentioning(f: RecordFilter, value: str, hasher: AuditHasher) -> RecordFilter:
    """Records that mention ``value``: in clear in an identifier column, or as its tag
    in a column or in the HMACs of free text (detail["hmac"])."""
    tag = hasher.tag(value)
    return replace(f, mentions=(value, tag), in_detail=(f'"{tag}"',))
