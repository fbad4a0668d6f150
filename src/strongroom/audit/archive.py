"""Archival of old ranges of the trail to verifiable files (docs/audit-format.md
"Archival").

The cut is a checkpoint C, the newest one written before ``before``: every segment
is archived up to the head C's fold attests (so each archived run ends on a signed
head), the checkpoints before C go with them, and C stays in the table to anchor what
remains. Order, each step only if the previous one succeeded:

1. the whole trail verifies (nothing is archived from a trail already damaged);
2. the file is written, fsynced and checked offline (audit/offline.py);
3. one transaction deletes the archived rows and appends an ``audit.archive`` record
   naming C and the file's SHA-256, chained and MACed like any other record.

``strongroom audit verify`` then starts the checkpoint chain at C and each segment at
the head C attests. On PostgreSQL step 3 passes the append-only triggers only for a
member of the ``strongroom_audit_archiver`` role (migration 0005).
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from strongroom.audit import export, offline
from strongroom.audit.actions import ChainAction
from strongroom.audit.chain import ts_micros
from strongroom.audit.findings import OfflineReport
from strongroom.audit.models import AuditEvent, Outcome
from strongroom.audit.queries import AuditQueries
from strongroom.audit.service import AuditLog
from strongroom.audit.verify import check_checkpoints
from strongroom.context import Actor
from strongroom.errors import ArchiveRefused
from strongroom.observability.progress import Progress, in_step
from strongroom.store import audit_repo
from strongroom.store.audit_repo import ARCHIVE_ACTOR
from strongroom.store.db import Database


@dataclass(frozen=True)
class Archived:
    path: Path | None
    checkpoint: int | None
    records: int
    sha256: str | None


async def archive(
    db: Database,
    log: AuditLog,
    queries: AuditQueries,
    public: Ed25519PublicKey,
    key_id: str,
    before: datetime,
    out_dir: Path,
    progress: Progress | None = None,
) -> Archived:
    """Archive records up to the last checkpoint before ``before`` (``log`` started);
    ``progress`` hears each step: "verify" the trail, "write" the file, "check" it."""
    report = await queries.verify(public=public, progress=in_step(progress, "verify"))
    if report.findings:
        raise ArchiveRefused(f"the trail does not verify: {report.findings[0].message}")
    async with db.read() as s:
        c = await audit_repo.checkpoint_before(s, before)
        first = await audit_repo.first_checkpoint(s)
        cps = await audit_repo.checkpoint_range(s, first.number, c.number) if c and first else []
        remaining = await audit_repo.seq_ranges(s, None, None)
    if c is None or not cps:
        return Archived(None, None, 0, None)
    found, attested = check_checkpoints(cps, public, first=cps[0].number)
    if found:
        raise ArchiveRefused(found[0].message)
    upto = {seg: heads[-1].head.seq for seg, heads in attested.items()}
    runs = [
        export.Run(seg, remaining[seg][0], seq)
        for seg, seq in sorted(upto.items())
        if seg in remaining and remaining[seg][0] <= seq
    ]
    async with db.read() as s:
        legacy = await audit_repo.unchained(s, before)
    if not runs and not legacy and c.number == cps[0].number:
        return Archived(None, None, 0, None)  # already archived up to this checkpoint
    sel = export.Selection(runs, legacy, cps)
    await asyncio.to_thread(out_dir.mkdir, parents=True, exist_ok=True)
    path = out_dir / f"audit-archive-{c.number:010d}-{uuid.uuid4().hex[:8]}.jsonl"
    written = await export.write(
        db,
        path,
        sel,
        kind="archive",
        key_id=key_id,
        start=None,
        end=None,
        progress=in_step(progress, "write"),
    )
    checked, sha = await asyncio.to_thread(_check_file, path, public, in_step(progress, "check"))
    if not checked.ok:
        raise ArchiveRefused(f"archive file does not verify: {checked.findings[0].describe()}")
    cuts = {r.seg: r.hi for r in runs}
    actor = Actor(ARCHIVE_ACTOR, "-", f"archive-{uuid.uuid4().hex[:16]}", None)
    async with db.transaction() as s:
        if not db.is_sqlite:
            await audit_repo.enable_archive_delete(s)
        n = await audit_repo.delete_archived(s, cuts, c.number, [r["id"] for r in legacy])
        detail = {"checkpoint": c.number, "sha256": sha, "before": ts_micros(before)}
        event = AuditEvent(actor, ChainAction.ARCHIVE, Outcome.SUCCESS, path.name, n, detail)
        log.record_in(s, event)
    return Archived(path, c.number, written.records, sha)


def _check_file(
    path: Path, public: Ed25519PublicKey, progress: Progress | None
) -> tuple[OfflineReport, str]:
    """Read back what was written: offline report and SHA-256 of the file."""
    with path.open(encoding="ascii") as f:
        checked = offline.verify_lines(f, public, progress)
    return checked, hashlib.sha256(path.read_bytes()).hexdigest()
