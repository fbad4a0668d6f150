"""Fail-closed audit log.

Two paths: ``record_in`` adds the record to the caller's transaction (a state
change and its record commit together or not at all); ``append`` group-commits
records of read-only operations (encrypt, decrypt) and returns only once they are
durable, so a caller never releases a result whose record was not written.

``append_before_release`` is ``append`` for operations whose only effect is their
response: inside the HTTP edge's release gate the edge holds the response instead of
the handler waiting (audit/release.py). Waiting records are grouped by
audit/grouping.py and go to the database through one group writer per backend
(store/audit_writes.py): one statement per group on PostgreSQL, one writer thread on
SQLite.

Every record is sealed into this process's chain segment (audit/chain.py) on the
event loop, right before it is handed to the database: ``record_in`` seals at once,
``append`` when its group is written. A record whose transaction then rolls back (or
whose group fails) is replaced by a void record, so the chain has no hole. The
writer also appends heartbeats when idle, a close record at shutdown, and asks for
checkpoints (audit/checkpoints.py) every N records or T seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import structlog
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from strongroom.audit import release
from strongroom.audit.actions import ChainAction
from strongroom.audit.anchors import Anchors
from strongroom.audit.chain import Reservation, SegmentChain, system_row
from strongroom.audit.checkpoints import Checkpointer, CheckpointSigner
from strongroom.audit.grouping import GroupQueue, Pending, settle
from strongroom.audit.models import AuditEvent, columns
from strongroom.audit.redact import AuditHasher
from strongroom.audit.segments import open_segment
from strongroom.errors import AuditUnavailable
from strongroom.kms.interfaces import Kms
from strongroom.observability.metrics import AUDIT_CHAIN_LENGTH, AUDIT_CHECKPOINTS, AUDIT_RECORDS
from strongroom.store import audit_writes
from strongroom.store.db import Database
from strongroom.store.models import AuditRecord
from strongroom.store.tenancy import system_context

log = structlog.get_logger("strongroom.audit")


_RESERVED = "strongroom_audit_reservations"
_RECENT = 65536  # request ids remembered: far more than requests in flight


class AuditLog:
    """Group-committing, chain-sealing writer to the ``audit_records`` table."""

    def __init__(
        self,
        db: Database,
        flush_interval_s: float = 0.002,
        max_batch: int = 1000,
        observer: Callable[[AuditEvent], None] | None = None,
        *,
        kms: Kms | None = None,
        heartbeat_s: float = 60.0,
        checkpoint_records: int = 1000,
        checkpoint_s: float = 60.0,
        sensitive_identifiers: Sequence[str] = (),
        anchors: Anchors | None = None,
    ):
        self._db = db
        self._observer = observer  # sees each event once written (security rules)
        self._queue = GroupQueue(
            self._write, flush_interval_s, max_batch, lambda: bool(self._voids)
        )
        self._group: audit_writes.SqliteGroupWriter | audit_writes.PgGroupWriter = (
            audit_writes.SqliteGroupWriter(db.blocking_sqlite_engine())
            if db.is_sqlite
            else audit_writes.PgGroupWriter(db.writer_engine)
        )
        self._kms = kms
        self._heartbeat_s, self._checkpoint_s = heartbeat_s, checkpoint_s
        self._checkpoint_records = checkpoint_records
        self._chain: SegmentChain | None = None
        self._voids: list[dict[str, Any]] = []  # replace records whose write failed
        self._since_checkpoint = 0
        self._last_write = time.monotonic()
        self._last_checkpoint = time.monotonic()
        self._ticker: asyncio.Task[None] | None = None
        self._checkpointing: asyncio.Task[int | None] | None = None
        self.signer: CheckpointSigner | None = None
        self.checkpointer: Checkpointer | None = None
        self._sensitive = tuple(sensitive_identifiers)
        # Copies of each checkpoint outside the database (audit/anchors.py), if set.
        self.anchors = anchors if anchors is not None and anchors.configured else None
        self.hasher: AuditHasher | None = None  # keyed HMACs of sensitive values
        # Request ids of recent records, so the API can tell whether a request already
        # left one (api/deps.py writes one for requests that would otherwise leave none).
        # An OrderedDict: evicting the oldest key of a plain dict scans the dead slots
        # that FIFO use piles up at its front (~34 us per request once full).
        self._recent: OrderedDict[str, None] = OrderedDict()

    @property
    def segment_id(self) -> str | None:
        return self._chain.segment_id if self._chain else None

    async def start(self) -> None:
        """Load the checkpoint key, open this process's segment, start heartbeats."""
        if self._chain is not None:
            return
        if self._kms is None:
            raise AuditUnavailable()
        self.signer = await CheckpointSigner.load(self._db, self._kms)
        self.hasher = await AuditHasher.load(self._db, self._kms, self._sensitive)
        self.checkpointer = Checkpointer(self._db, self.signer, 10 * self._heartbeat_s)
        self._chain = await open_segment(self._db, self._kms, self._heartbeat_s)
        self._ticker = asyncio.create_task(self._tick())

    def _sealer(self) -> SegmentChain:
        if self._chain is None:  # not started, or closed: nothing may happen unaudited
            raise AuditUnavailable()
        return self._chain

    def _columns(self, e: AuditEvent) -> dict[str, Any]:
        """The record's columns, sensitive values already replaced by their HMACs."""
        if self.hasher is None:  # not started: nothing may be written in clear instead
            raise AuditUnavailable()
        recent = self._recent
        recent[e.actor.request_id] = None
        if len(recent) > _RECENT:
            recent.popitem(last=False)
        return self.hasher.row(e, columns(e))

    def recorded(self, request_id: str) -> bool:
        """Whether a record of this request was handed to the trail (recent ones only)."""
        return request_id in self._recent

    def record_in(self, session: AsyncSession, event: AuditEvent) -> None:
        row, reservation = self._sealer().seal(self._columns(event))
        session.add(AuditRecord(**row))
        self._reserve(session.sync_session, reservation)
        if self._observer is not None:
            self._observer(event)

    def _reserve(self, session: Session, reservation: Reservation) -> None:
        held: list[Reservation] | None = session.info.get(_RESERVED)
        if held is None:
            held = session.info[_RESERVED] = []
            event.listen(session, "after_commit", self._committed)
            event.listen(session, "after_soft_rollback", self._rolled_back)
        held.append(reservation)

    def _committed(self, session: Session) -> None:
        held = session.info.get(_RESERVED) or []
        # Records committed with the caller's change are written too: counted here, as
        # the group writer counts its own (``_write``).
        AUDIT_RECORDS.labels("written").inc(len(held))
        self._since_checkpoint += len(held)
        self._last_write = time.monotonic()
        held.clear()  # the keys kept for voiding go with it

    def _rolled_back(self, session: Session, _previous: Any) -> None:
        held = session.info.get(_RESERVED) or []
        if held and self._chain is not None:
            now = datetime.now(UTC)
            self._voids.extend(self._chain.void(r, now) for r in held)
            self._queue.kick()
        held.clear()

    async def append(self, event: AuditEvent) -> None:
        """Returns once the record is durable; raises AuditUnavailable if it is not."""
        await self._enqueue(event)

    async def append_before_release(
        self, event: AuditEvent, settled: Callable[[bool], None] | None = None
    ) -> None:
        """For read-only operations whose only effect is their response: inside a
        release gate the edge waits instead (audit/release.py), else as ``append``.
        ``settled`` learns whether the record became durable (the response released)."""
        fut = self._enqueue(event)
        if settled is not None:
            fut.add_done_callback(lambda f: settled(not f.cancelled() and f.exception() is None))
        if not release.hold(fut):
            await fut

    def _enqueue(self, event: AuditEvent) -> asyncio.Future[None]:
        return self._queue.put(self._columns(event), event)

    async def _append_system(
        self, action: ChainAction, detail: dict[str, Any] | None = None
    ) -> None:
        await self._queue.put(system_row(action, datetime.now(UTC), detail), None)

    async def _write(self, batch: Sequence[Pending]) -> bool:
        try:
            chain = self._sealer()
        except AuditUnavailable:
            settle(batch, AuditUnavailable())
            return False
        voids, self._voids = self._voids, []
        sealed = [chain.seal_with_body(row) for row, _, _ in batch]
        rows = [r for r, _, _ in sealed]
        try:
            await self._group.write(voids, rows, [b for _, _, b in sealed])
        except Exception as exc:
            log.error("audit_write_failed", error_type=type(exc).__name__, records=len(batch))
            now = datetime.now(UTC)
            self._voids = voids + [chain.void(r, now) for _, r, _ in sealed]
            settle(batch, AuditUnavailable())
            AUDIT_RECORDS.labels("failed").inc(len(batch))
            return False
        settle(batch, None)
        if self._observer is not None:  # security rules see each event once written
            for _, _, e in batch:
                if e is not None:
                    self._observer(e)
        AUDIT_RECORDS.labels("written").inc(len(rows) + len(voids))
        AUDIT_CHAIN_LENGTH.set(chain.next_seq)
        self._since_checkpoint += len(rows)
        self._last_write = time.monotonic()
        if self._since_checkpoint >= self._checkpoint_records:
            self._checkpoint_soon()
        return True

    def _checkpoint_soon(self) -> None:
        if self._checkpointing is None or self._checkpointing.done():
            self._checkpointing = asyncio.create_task(self.checkpoint(), context=system_context())

    async def checkpoint(self, min_age_s: float = 0.0) -> int | None:
        """Write a checkpoint now if this process may; never raises (logged)."""
        if self.checkpointer is None:
            return None
        self._since_checkpoint = 0
        self._last_checkpoint = time.monotonic()
        try:
            signed = await self.checkpointer.run(min_age_s)
        except Exception as exc:
            log.error("audit_checkpoint_failed", error_type=type(exc).__name__)
            return None
        if signed is None:
            return None
        AUDIT_CHECKPOINTS.inc()
        if self.anchors is not None:  # committed: now it may be anchored (never raises)
            await self.anchors.publish(signed)
        return signed.number

    async def _tick(self) -> None:
        period = min(self._heartbeat_s, self._checkpoint_s) / 2
        while True:
            await asyncio.sleep(period)
            now = time.monotonic()
            try:
                if now - self._last_write >= self._heartbeat_s:
                    await self._append_system(ChainAction.HEARTBEAT)
            except Exception as exc:  # a silent writer shows up in verify; keep beating
                log.error("audit_heartbeat_failed", error_type=type(exc).__name__)
            if now - self._last_checkpoint >= self._checkpoint_s:
                # Every replica's timer fires; the age check keeps it ~one per T cluster-wide.
                await self.checkpoint(min_age_s=self._checkpoint_s * 0.9)

    async def close(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
        if self._checkpointing is not None:
            await asyncio.gather(self._checkpointing, return_exceptions=True)
        if self._chain is not None:
            with contextlib.suppress(AuditUnavailable):
                await self._append_system(ChainAction.CLOSE, {"records": self._chain.next_seq})
            await self.checkpoint()
            self._chain = None  # the last key goes with it
        await self._queue.drain()
        await self._group.close()
        if self.anchors is not None:
            await self.anchors.close()
