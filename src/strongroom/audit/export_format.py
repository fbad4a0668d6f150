"""Lines of an export or archive file (docs/audit-format.md "Export"). Pure: no I/O.

Wire invariant (export format 1): JSON Lines, one object per line, ``type`` first:

    {"type": "export", "format": 1, "kind": "export"|"archive", "created", "from",
     "to", "key_id", "checkpoints": [first, last] | null}
    {"type": "segment", "seg", "opened_at", "writer", "first_seq", "last_seq"}
    {"type": "record", "id", "seg", "seq", "prev", "hash", "mac", "time",
     "ts", "rid", "actor", "tenant", "action", "target", "outcome", "items", "addr",
     "detail"}        (the hashed fields keep the names of audit/chain.py's body;
                       ts in µs; prev/hash/mac hex; seg null for unchained records)
    {"type": "checkpoint", "number", "ts", "key_id", "body", "signature"}
    {"type": "end", "records", "checkpoints"}

A record line carries every field of its hashed body, so a verifier recomputes the
hash with nothing but the line (audit/offline.py).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from strongroom.audit.chain import WIRE_NAMES, wire_fields

FORMAT = 1
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _hex(b: bytes | None) -> str | None:
    return bytes(b).hex() if b is not None else None


def record_line(row: dict[str, Any]) -> dict[str, Any]:
    """One record (audit_records columns, as audit_repo.CHAIN_COLUMNS) as a line."""
    return {
        "type": "record",
        "id": row["id"],
        "seg": row["segment_id"],
        "seq": row["seq"],
        "prev": _hex(row["prev_hash"]),
        "hash": _hex(row["hash"]),
        "mac": _hex(row["mac"]),
        "time": row["ts"].isoformat(),
        **wire_fields(row),
    }


def row_of(line: dict[str, Any]) -> dict[str, Any]:
    """The columns audit/chain.py's ``record_body`` reads, back from a record line."""
    return {
        "ts": EPOCH + timedelta(microseconds=int(line["ts"])),
        **{col: line[wire] for col, wire in WIRE_NAMES},
    }


def dumps(obj: dict[str, Any]) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=True, allow_nan=False) + "\n"
