"""What auditors read back from the trail."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from strongroom.audit import online, search
from strongroom.audit.actions import SECURITY_PREFIX
from strongroom.audit.checkpoints import CheckpointSigner
from strongroom.audit.events import severity_of
from strongroom.audit.findings import VerifyReport
from strongroom.audit.redact import AuditHasher
from strongroom.audit.service import AuditLog
from strongroom.kms.interfaces import Kms
from strongroom.observability.progress import Progress
from strongroom.store import audit_repo
from strongroom.store.audit_repo import RecordFilter
from strongroom.store.db import Database


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
        progress: Progress | None = None,
    ) -> VerifyReport:
        """Check the whole trail, or the records timed in [start, end] (audit/online.py)."""
        public = public or (await self.signer()).public
        return await online.verify(self._db, self._kms, public, start, end, now, progress)

    async def verify_tenant(
        self, tenant: str, start: datetime | None = None, end: datetime | None = None
    ) -> VerifyReport:
        """``verify`` as a tenant-bound auditor sees it. The chain links every tenant's
        records, so the whole trail is walked and ``ok`` is its verdict (a break
        anywhere undermines the records after it); the counts and findings are the
        tenant's own, so that other tenants' volume and record ids stay theirs.
        Checkpoints are the trail's signed heads, shared by all tenants."""
        report = await self.verify(start, end)
        async with self._db.read() as s:
            ranges = await audit_repo.seq_ranges(s, start, end, tenant)
            named = [f.record_id for f in report.findings + report.truncated if f.record_id]
            mine = await audit_repo.owned(s, tenant, named)
        report.unchained = ranges.pop(None, (0, 0, 0))[2]
        report.records = sum(count for _, _, count in ranges.values())
        report.segments = len(ranges)
        report.findings = [f for f in report.findings if f.record_id in mine]
        report.truncated = [f for f in report.truncated if f.record_id in mine]
        return report

    async def security_events(self, tenant: str, limit: int = 100) -> list[SecurityEventRecord]:
        async with self._db.read() as s:
            rows = await audit_repo.security_events(s, SECURITY_PREFIX, tenant, limit)
        return [
            SecurityEventRecord(
                r.id,
                r.ts,
                r.action.removeprefix(SECURITY_PREFIX),
                severity_of(
                    r.action.removeprefix(SECURITY_PREFIX), (r.detail or {}).get("severity")
                ),
                r.target,
                r.tenant_id,
                dict(r.detail or {}),
            )
            for r in rows
        ]
