"""Once-only notices: reminders and alerts that must go out exactly once per
(tenant, kind, subject, threshold) however many replicas look for due ones.

The claim is a unique-row insert into ``notices_sent`` (migration 0010): the first
replica to insert sends, every other one gets an integrity error and skips. A claim
is taken before the notice is sent, so a crash in between loses that notice rather
than sending it twice (reminders are hints; the state they remind of stays visible
in the API and the metrics).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from strongroom.store.db import Database
from strongroom.store.models import NoticeSent


class Notices:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def claim(self, tenant: str, kind: str, subject: str, threshold: str) -> bool:
        """True for exactly one caller cluster-wide per (tenant, kind, subject, threshold)."""
        row = NoticeSent(
            tenant_id=tenant,
            kind=kind,
            subject=subject,
            threshold=threshold,
            sent_at=datetime.now(UTC),
        )
        try:
            async with self._db.transaction() as s:
                s.add(row)
        except IntegrityError:
            return False
        return True

    async def sent(self, tenant: str, kind: str, subject: str) -> list[str]:
        """The thresholds already claimed for one subject (for listings and tests)."""
        q = select(NoticeSent.threshold).where(
            NoticeSent.tenant_id == tenant, NoticeSent.kind == kind, NoticeSent.subject == subject
        )
        async with self._db.read() as s:
            return sorted((await s.execute(q)).scalars().all())
