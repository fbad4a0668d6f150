"""Writing an export or archive file (format: audit/export_format.py).

An export of [from, to] is widened so that an offline verifier can bind it to
signatures: each segment's records start at the head the last checkpoint before
``from`` attested (or at seq 0), and run on to the head the first checkpoint at or
after ``to`` attests; the checkpoints between those two are included. Records after
a segment's last attested head (a live tail) are exported but reported as not
covered. Records are read in windows so memory stays bounded on long trails.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from strongroom.audit.checkpoints import OPEN_MARGIN, Head, parse_heads
from strongroom.audit.export_format import FORMAT, dumps, record_line
from strongroom.observability.progress import Progress
from strongroom.store import audit_repo
from strongroom.store.db import Database
from strongroom.store.models import AuditCheckpoint, AuditSegment

WINDOW = 5000  # records read per query


@dataclass(frozen=True)
class Run:
    """Records lo..hi of one segment."""

    seg: str
    lo: int
    hi: int


@dataclass(frozen=True)
class Selection:
    runs: list[Run]
    unchained: list[dict[str, Any]]
    checkpoints: Sequence[AuditCheckpoint]


@dataclass(frozen=True)
class Written:
    path: Path
    records: int
    checkpoints: int


def fold(cps: Sequence[AuditCheckpoint]) -> dict[str, Head]:
    heads: dict[str, Head] = {}
    for cp in cps:
        heads.update({h.seg: h for h in parse_heads(cp.body)})
    return heads


async def select_range(db: Database, start: datetime | None, end: datetime | None) -> Selection:
    async with db.read() as s:
        first = await audit_repo.first_checkpoint(s)
        c0 = (await audit_repo.checkpoint_before(s, start)) if start else None
        c0 = c0 or first
        c1 = (await audit_repo.checkpoint_at_or_after(s, end)) if end else None
        c1 = c1 or await audit_repo.latest_checkpoint(s)
        cps = await audit_repo.checkpoint_range(s, c0.number, c1.number) if c0 and c1 else []
        ranges = await audit_repo.seq_ranges(s, start, end)
        remaining = await audit_repo.seq_ranges(s, None, None)  # archival cut the start
        opened = {g.segment_id: g.opened_at for g in await audit_repo.segments(s)}
        legacy = [
            r
            for r in await audit_repo.unchained(s, None)
            if (start is None or r["ts"] >= start) and (end is None or r["ts"] <= end)
        ]
    at_c0 = {h.seg: h for h in parse_heads(cps[0].body)} if cps else {}
    attested = fold(cps)
    runs: list[Run] = []
    for seg, (lo, hi, _) in sorted((k, v) for k, v in ranges.items() if k is not None):
        if seg in at_c0:
            lo = min(lo, at_c0[seg].seq)
        elif cps and seg in opened and opened[seg] >= cps[0].ts - OPEN_MARGIN:
            lo = 0  # opened after the first checkpoint: from its start
        if seg in attested:
            hi = max(hi, attested[seg].seq)
        lo = max(lo, remaining[seg][0])
        runs.append(Run(seg, lo, hi))
    return Selection(runs, legacy, cps)


async def write(
    db: Database,
    path: Path,
    sel: Selection,
    *,
    kind: str,
    key_id: str,
    start: datetime | None,
    end: datetime | None,
    progress: Progress | None = None,
) -> Written:
    """Write ``sel`` to ``path`` (created new, fsynced before returning); ``progress``
    hears how many records were written."""
    cps = sel.checkpoints
    # The runs' seq ranges count the records a complete table holds (at most).
    total = sum(r.hi - r.lo + 1 for r in sel.runs) + len(sel.unchained)
    records = 0

    def tell(more: int = 0) -> None:  # ``more``: written of the current run
        if progress is not None:
            progress(records + more, total)

    header = {
        "type": "export",
        "format": FORMAT,
        "kind": kind,
        "created": datetime.now(UTC).isoformat(),
        "from": start.isoformat() if start else None,
        "to": end.isoformat() if end else None,
        "key_id": key_id,
        "checkpoints": [cps[0].number, cps[-1].number] if cps else None,
    }
    with path.open("x", encoding="ascii") as f:
        f.write(dumps(header))
        async with db.read() as s:
            metas = {g.segment_id: g for g in await audit_repo.segments(s)}
        tell()
        for run in sel.runs:
            records += await _run(db, f, run, metas.get(run.seg), tell)
        for row in sel.unchained:
            f.write(dumps(record_line(row)))
            records += 1
        tell()
        for cp in cps:
            f.write(dumps(_checkpoint_line(cp)))
        f.write(dumps({"type": "end", "records": records, "checkpoints": len(cps)}))
        f.flush()
        os.fsync(f.fileno())
    return Written(path, records, len(cps))


async def _run(
    db: Database, f: IO[str], run: Run, meta: AuditSegment | None, tell: Callable[[int], None]
) -> int:
    # Declares the range asked for: a record the table lacks shows up as missing.
    line = {
        "type": "segment",
        "seg": run.seg,
        "opened_at": meta.opened_at.isoformat() if meta else None,
        "writer": meta.writer if meta else None,
        "first_seq": run.lo,
        "last_seq": run.hi,
    }
    f.write(dumps(line))
    n, seq = 0, run.lo
    while seq <= run.hi:
        async with db.read() as s:
            rows = await audit_repo.chain_records(s, run.seg, seq, min(run.hi, seq + WINDOW - 1))
        f.writelines(dumps(record_line(r)) for r in rows)
        n, seq = n + len(rows), seq + WINDOW
        tell(n)
    return n


def _checkpoint_line(cp: AuditCheckpoint) -> dict[str, Any]:
    return {
        "type": "checkpoint",
        "number": cp.number,
        "ts": cp.ts.isoformat(),
        "key_id": cp.key_id,
        "body": cp.body,
        "signature": bytes(cp.signature).hex(),
    }
