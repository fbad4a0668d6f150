"""What auditors read back from the trail."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy.ext.asyncio import AsyncSession

from strongroom.audit import search
from strongroom.audit import verify as v
from strongroom.audit.actions import SECURITY_PREFIX, ChainAction
from strongroom.audit.chain import ZERO
from strongroom.audit.checkpoints import CheckpointSigner, Head, parse_heads
from strongroom.audit.redact import AuditHasher
from strongroom.audit.segments import segment_context
from strongroom.audit.service import AuditLog
from strongroom.kms.interfaces import Kms, KmsError, Wrapped
from strongroom.store import audit_repo
from strongroom.store.audit_repo import RecordFilter
from strongroom.store.db import Database
from strongroom.store.models import AuditCheckpoint, AuditSegment


@dataclass(frozen=True)
class SecurityEventRecord:
    id: int
    ts: datetime
    rule: str
    severity: str
    subject: str | None
    tenant: str
    detail: dict[str, Any]


class AuditQueries:
    def __init__(self, db: Database, kms: Kms, log: AuditLog) -> None:
        self._db, self._kms, self._log = db, kms, log

    async def signer(self) -> CheckpointSigner:
        return self._log.signer or await CheckpointSigner.load(self._db, self._kms)

    async def hasher(self) -> AuditHasher:
        """The writer's, or (CLI, no segment open) one loaded for reading."""
        if self._log.hasher is None:
            self._log.hasher = await AuditHasher.load(self._db, self._kms, ())
        return self._log.hasher

    async def records(
        self, f: RecordFilter, target: str | None, cursor: str | None, limit: int
    ) -> search.Page:
        """Records matching ``f`` and ``target`` (in clear or as its keyed HMAC)."""
        f = search.with_target(f, target, await self.hasher())
        return await search.search(self._db, f, cursor, limit)

    async def lookup(
        self, value: str, f: RecordFilter, cursor: str | None, limit: int
    ) -> search.Page:
        """Records that mention ``value`` anywhere, for an auditor who already knows it."""
        f = search.mentioning(f, value, await self.hasher())
        return await search.search(self._db, f, cursor, limit)

    async def public_key(self) -> tuple[str, str]:
        """(key id, PEM) of the checkpoint signing key, for auditors."""
        signer = await self.signer()
        return signer.key_id, signer.public_pem()

    async def verify(
        self,
        start: datetime | None = None,
        end: datetime | None = None,
        *,
        public: Ed25519PublicKey | None = None,
        now: datetime | None = None,
    ) -> v.VerifyReport:
        """Check the whole trail, or the records timed in [start, end] (tails and
        checkpoints of segments that reach past ``end`` are then not judged)."""
        t0 = time.perf_counter()
        public = public or (await self.signer()).public
        now = now or datetime.now(UTC)
        report = v.VerifyReport()
        async with self._db.read() as s:
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
                report.findings.append(v.Finding("inserted", msg, record_id=rid))
            whole = start is None and end is None
            names = set(ranges) | (set(segments) | set(attested) if whole else set())
            for seg in sorted(n for n in names if n is not None):
                seq_range = ranges.get(seg)
                lo = seq_range[0] if seq_range and not whole else 0
                hi = seq_range[1] if seq_range and end is not None else None
                anchor = ZERO if lo == 0 else None
                cut = cuts.get(seg)
                if cut is not None and lo <= cut.seq:  # archived up to an attested head
                    lo, anchor = cut.seq + 1, cut.hash
                meta = segments.get(seg)
                await self._segment(s, report, seg, meta, lo, hi, anchor, attested, now)
        report.seconds = time.perf_counter() - t0
        return report.finish()

    async def _segment(
        self,
        s: AsyncSession,
        report: v.VerifyReport,
        seg: str,
        meta: AuditSegment | None,
        lo: int,
        hi: int | None,
        anchor: bytes | None,
        attested: dict[str, v.Attested],
        now: datetime,
    ) -> None:
        rows = await audit_repo.chain_records(s, seg, lo, hi)
        report.records += len(rows)
        report.segments += 1
        first = rows[0]["id"] if rows else None
        if meta is None:
            msg = "records of a segment that was never opened"
            kind = "inserted" if rows else "deleted"
            report.findings.append(v.Finding(kind, msg, seg, None, first))
            return
        try:
            k0 = await self._kms.unwrap(
                Wrapped(meta.kms_key_ref, meta.wrapped_key), segment_context(seg)
            )
        except KmsError:
            msg = "segment key does not unwrap (segment row altered, or KMS unavailable)"
            report.findings.append(v.Finding("altered", msg, seg, 0, first))
            return
        key = await asyncio.to_thread(v.key_at, k0, lo)
        found, links = await asyncio.to_thread(v.walk_segment, seg, rows, key, lo, anchor)
        if found is not None:
            report.findings.append(found)
            return
        if hi is not None:
            return
        opened = rows[0] if lo == 0 and rows else None
        if opened is None:
            opened = next(iter(await audit_repo.chain_records(s, seg, 0, 0)), None)
        beat = v.heartbeat_of(opened)
        found, cut = v.check_tail(seg, rows, links, attested.get(seg), beat, now, lo - 1)
        report.findings += [found] if found else []
        report.truncated += [cut] if cut else []

    async def security_events(self, tenant: str, limit: int = 100) -> list[SecurityEventRecord]:
        async with self._db.read() as s:
            rows = await audit_repo.security_events(s, SECURITY_PREFIX, tenant, limit)
        return [
            SecurityEventRecord(
                r.id,
                r.ts,
                r.action.removeprefix(SECURITY_PREFIX),
                str((r.detail or {}).get("severity", "warning")),
                r.target,
                r.tenant_id,
                dict(r.detail or {}),
            )
            for r in rows
        ]


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
