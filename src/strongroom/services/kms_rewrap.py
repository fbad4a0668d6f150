"""``strongroom kms rewrap``: move every stored wrapped key under the root key's
newest version, or to another backend, without touching any client ciphertext.

Resumable and safe to run beside live replicas:
- rows already under the target ``key_ref`` are skipped, so a rerun continues
  where an interrupted run stopped (each batch commits on its own);
- each row is replaced by compare-and-set on its old blob, so a key destroyed or
  re-created meanwhile is never overwritten with stale material;
- the private material itself is unchanged, so cached keys, data keys and every
  ciphertext stay valid; readers with ``kms_previous`` open both old and new rows.
A refusal for one row (say, a blob whose context no longer matches) is counted
and reported, and the run goes on; an unavailable KMS stops the run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import structlog

from strongroom.audit.actions import KmsAction
from strongroom.audit.interfaces import AuditSink
from strongroom.audit.models import AuditEvent, Outcome
from strongroom.audit.segments import segment_context
from strongroom.context import Actor
from strongroom.datakeys.sealer import data_key_context
from strongroom.keys.cipher import wrap_context
from strongroom.kms.interfaces import (
    Kms,
    KmsError,
    KmsUnavailable,
    Wrapped,
    service_key_context,
)
from strongroom.observability.progress import Progress
from strongroom.store import wrapped_repo
from strongroom.store.db import Database

log = structlog.get_logger("strongroom.kms")


@dataclass
class RewrapReport:
    target: str
    moved: int = 0
    changed_meanwhile: int = 0
    refused: list[str] = field(default_factory=list)  # row names, never material
    remaining: dict[str, int] = field(default_factory=dict)

    @property
    def done(self) -> int:
        """Rows handled so far, whatever became of them."""
        return self.moved + self.changed_meanwhile + len(self.refused)

    @property
    def complete(self) -> bool:
        return not self.refused and set(self.remaining) <= {self.target}


class KmsRewrap:
    def __init__(self, db: Database, kms: Kms, audit: AuditSink, batch_size: int = 200) -> None:
        self._db, self._kms, self._audit, self._batch = db, kms, audit, batch_size

    async def status(self) -> dict[str, int]:
        async with self._db.read() as s:
            return await wrapped_repo.count_by_key_ref(s)

    async def run(self, actor: Actor, progress: Progress | None = None) -> RewrapReport:
        """``progress`` hears how many rows were handled, of those not under the target
        when the run began."""
        # health() also refreshes backends that learn their newest version remotely.
        if not await self._kms.health():
            raise KmsUnavailable("target KMS is not healthy")
        report = RewrapReport(self._kms.key_ref)
        total = sum(n for ref, n in (await self.status()).items() if ref != report.target)

        def tell() -> None:
            if progress is not None:  # rows written meanwhile may pass the first count
                progress(report.done, max(report.done, total))

        tell()
        try:
            await self._small_rows(report, tell)
            await self._user_material(report, tell)
        finally:
            report.remaining = await self.status()
            outcome = Outcome.SUCCESS if report.complete else Outcome.FAILURE
            detail = {"target": report.target, "refused": len(report.refused)}
            await self._audit.append(
                AuditEvent(actor, KmsAction.REWRAP, outcome, None, report.moved, detail)
            )
        return report

    async def _user_material(self, report: RewrapReport, tell: Callable[[], None]) -> None:
        after = 0
        while True:
            async with self._db.read() as s:
                rows = await wrapped_repo.user_material_not_under(
                    s, report.target, after, self._batch
                )
            if not rows:
                return
            after = rows[-1].version_id
            moved: list[tuple[int, bytes, Wrapped]] = []
            for row in rows:
                ctx = wrap_context(row.tenant, row.user_id, row.version, row.key_type)
                new = await self._rewrap(report, row.kms_key_ref, row.wrapped, ctx, str(row))
                if new is not None:
                    moved.append((row.version_id, row.wrapped, new))
            async with self._db.transaction() as s:
                for version_id, old, new in moved:
                    ok = await wrapped_repo.replace(
                        s, "user_material", version_id, old, new.key_ref, new.blob
                    )
                    report.moved += ok
                    report.changed_meanwhile += not ok
            tell()

    async def _small_rows(self, report: RewrapReport, tell: Callable[[], None]) -> None:
        """Service keys, audit segment keys and tenant data keys, one commit each."""
        async with self._db.read() as s:
            rows = await wrapped_repo.small_rows_not_under(s, report.target)
        for row in rows:
            if row.kind == "service_key":
                ctx, name = service_key_context(row.ident), row.ident
            elif row.kind == "tenant_data_key":
                ctx = data_key_context(row.tenant, row.version)
                name = f"tenant-data-key/{row.tenant}/v{row.version}"
            else:
                ctx, name = segment_context(row.ident), f"audit-segment/{row.ident}"
            new = await self._rewrap(report, row.kms_key_ref, row.wrapped, ctx, name)
            if new is None:
                tell()
                continue
            async with self._db.transaction() as s:
                ok = await wrapped_repo.replace(
                    s, row.kind, row.ident, row.wrapped, new.key_ref, new.blob
                )
            report.moved += ok
            report.changed_meanwhile += not ok
            tell()

    async def _rewrap(
        self, report: RewrapReport, ref: str, blob: bytes, ctx: dict[str, str], name: str
    ) -> Wrapped | None:
        try:
            return await self._kms.rewrap(Wrapped(ref, blob), ctx)
        except KmsUnavailable:
            raise
        except KmsError as exc:
            log.warning("kms_rewrap_refused", row=name, reason=exc.reason)
            report.refused.append(name)
            return None
