"""``strongroom audit verify`` and ``GET /api/v1/audit/verify``: the trail in the
database, one segment at a time through audit/verify.py's walk with its MAC key.

Only the database tells when a segment's records stop short: one that ends with
neither a close record nor a recent heartbeat nor an "abandoned" attestation may have
lost records after the last checkpoint (reported apart, as possibly truncated).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy.ext.asyncio import AsyncSession

from strongroom.audit import verify as v
from strongroom.audit.actions import ChainAction
from strongroom.audit.chain import ZERO
from strongroom.audit.checkpoints import Head, parse_heads
from strongroom.audit.findings import Finding, VerifyReport
from strongroom.audit.segments import segment_context
from strongroom.kms.interfaces import Kms, KmsError, Wrapped
from strongroom.observability.progress import Progress
from strongroom.store import audit_repo
from strongroom.store.db import Database
from strongroom.store.models import AuditCheckpoint, AuditSegment


@dataclass(frozen=True)
class _Trail:
    """One verification's fixed inputs."""

    kms: Kms
    attested: v.Heads
    now: datetime
    progress: Progress | None = None  # records walked, of about ``total``
    total: int = 0

    def tell(self, done: int) -> None:
        # The total is counted before the walk: records written since may pass it.
        if self.progress is not None:
            self.progress(done, max(done, self.total))


async def verify(
    db: Database,
    kms: Kms,
    public: Ed25519PublicKey,
    start: datetime | None = None,
    end: datetime | None = None,
    now: datetime | None = None,
    progress: Progress | None = None,
) -> VerifyReport:
    """Check the whole trail, or the records timed in [start, end] (tails and
    checkpoints of segments that reach past ``end`` are then not judged); ``progress``
    hears how many records were walked."""
    t0 = time.perf_counter()
    report = VerifyReport()
    async with db.read() as s:
        segments = {g.segment_id: g for g in await audit_repo.segments(s)}
        ranges = await audit_repo.seq_ranges(s, start, end)
        cps = await audit_repo.checkpoints(s)
        forged = await audit_repo.unchained_after(s, await audit_repo.first_chained_id(s))
        report.unchained = ranges.pop(None, (0, 0, 0))[2] - len(forged)
        first, cuts = await _archived(s, cps)
        found, attested = v.check_checkpoints(cps, public, first)
        report.findings += found
        report.checkpoints = len(cps)
        report.last_checkpoint = cps[-1].number if cps else None
        for rid in forged:
            msg = "record without chain fields written after the chain began"
            report.findings.append(Finding("inserted", msg, record_id=rid))
        whole = start is None and end is None
        total = sum(count for seg, (_, _, count) in ranges.items() if seg is not None)
        trail = _Trail(kms, attested, now or datetime.now(UTC), progress, total)
        trail.tell(0)
        names = set(ranges) | (set(segments) | set(attested) if whole else set())
        for seg in sorted(n for n in names if n is not None):
            seq_range = ranges.get(seg)
            lo = seq_range[0] if seq_range and not whole else 0
            hi = seq_range[1] if seq_range and end is not None else None
            anchor = ZERO if lo == 0 else None
            cut = cuts.get(seg)
            if cut is not None and lo <= cut.seq:  # archived up to an attested head
                lo, anchor = cut.seq + 1, cut.hash
            await _segment(s, report, trail, segments.get(seg), v.Run(seg, lo, anchor), hi)
        trail.tell(report.records)
    report.seconds = time.perf_counter() - t0
    return report.finish()


async def _segment(
    s: AsyncSession,
    report: VerifyReport,
    trail: _Trail,
    meta: AuditSegment | None,
    run: v.Run,
    hi: int | None,
) -> None:
    seg, lo = run.seg, run.lo
    rows = await audit_repo.chain_records(s, seg, lo, hi)
    walked = report.records
    report.records += len(rows)
    report.segments += 1
    first = rows[0]["id"] if rows else None
    if meta is None:
        msg = "records of a segment that was never opened"
        kind = "inserted" if rows else "deleted"
        report.findings.append(Finding(kind, msg, seg, None, first))
        return
    try:
        k0 = await trail.kms.unwrap(
            Wrapped(meta.kms_key_ref, meta.wrapped_key), segment_context(seg)
        )
    except KmsError:
        msg = "segment key does not unwrap (segment row altered, or KMS unavailable)"
        report.findings.append(Finding("altered", msg, seg, 0, first))
        return
    key = await asyncio.to_thread(v.key_at, k0, lo)
    run = replace(run, key=key)

    def tick(n: int) -> None:
        trail.tell(walked + n)

    found, links = await asyncio.to_thread(v.walk_segment, run, rows, tick)
    trail.tell(report.records)
    if found is None and hi is None:  # walked to its end: its tail is judged
        opened = rows[0] if lo == 0 and rows else None
        if opened is None:
            opened = next(iter(await audit_repo.chain_records(s, seg, 0, 0)), None)
        heads = trail.attested.get(seg, [])
        found, cut = check_tail(run, rows, links, heads, heartbeat_of(opened), trail.now)
        report.truncated += [cut] if cut else []
    report.findings += [found] if found else []


def check_tail(
    run: v.Run,
    rows: Sequence[dict[str, Any]],
    links: dict[int, bytes],
    heads: Sequence[v.Attested],
    heartbeat_s: float,
    now: datetime,
) -> tuple[Finding | None, Finding | None]:
    """(integrity finding, truncation finding) for a segment walked to its end, whose
    records up to seq run.lo - 1 were archived."""
    found = v.check_heads(run, rows, links, heads)
    if found is not None:
        return found, None
    att = heads[-1] if heads else None
    last = rows[-1] if rows else None
    last_seq = last["seq"] if last else run.lo - 1
    if att is not None and att.head.state == "abandoned" and att.head.seq == last_seq:
        return None, None  # the writer died; its tail was attested afterwards
    if last is None or last["action"] == ChainAction.CLOSE:
        return None, None
    if last["ts"] >= now - timedelta(seconds=2 * heartbeat_s + 5):
        return None, None  # live: its writer is still heartbeating
    covered = f"seq {att.head.seq}" if att else "nothing"
    msg = (
        f"no close record and no heartbeat since {last['ts'].isoformat()}: records after "
        f"seq {last_seq} may have been removed (the last checkpoint covers {covered})"
    )
    return None, Finding("truncated", msg, run.seg, last_seq, last["id"])


def heartbeat_of(open_row: dict[str, Any] | None, default: float = 60.0) -> float:
    if open_row is None or open_row["action"] != ChainAction.OPEN:
        return default
    value = (open_row["detail"] or {}).get("heartbeat_s", default)
    return float(value) if isinstance(value, int | float) else default


async def _archived(s: AsyncSession, cps: Sequence[AuditCheckpoint]) -> tuple[int, dict[str, Head]]:
    """(number the checkpoint chain starts at, segment -> head it was archived up to).
    A trail archived up to checkpoint C starts at C, whose heads anchor what remains;
    the chained record of the archival names C (a forged one fails its MAC)."""
    numbers = [
        m.detail.get("checkpoint")
        for m in await audit_repo.archive_markers(s, ChainAction.ARCHIVE)
        if isinstance(m.detail, dict)
    ]
    upto = max((n for n in numbers if isinstance(n, int)), default=None)
    if upto is None or not cps or cps[0].number != upto:
        return 1, {}
    return upto, {h.seg: h for h in parse_heads(cps[0].body)}
