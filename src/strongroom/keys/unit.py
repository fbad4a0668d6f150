"""The unit of work of every change to a key row.

In one transaction: claim the row (compare-and-set on the version and state the
caller read, bumping its ``generation``; or insert a new row), run the change's own
writes, append its history entry and its audit record; after the commit, tell the
key cache (this replica's caches, the other replicas' hints). A lost race raises
``KeyConflict`` (KEY002) and nothing is written; any error rolls everything back,
audit record included, and leaves the caches alone.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from strongroom.audit.interfaces import AuditSink
from strongroom.audit.models import AuditEvent
from strongroom.errors import KeyConflict
from strongroom.keys.cache import UserRef
from strongroom.keys.key_cache import KeyCache
from strongroom.store import keys_repo
from strongroom.store.db import Database

# Takes the key row in the session; returns its id, or None when the race was lost.
Claim = Callable[[AsyncSession], Awaitable[int | None]]
Due = tuple[str, datetime]  # (column, now): the column must be <= now


def compare_and_set(key_id: int, expect_version: int, expect_state: str, **values: object) -> Claim:
    """Claim the row only if it still has the version and state the caller read."""
    return _claim(key_id, expect_version, expect_state, None, values)


def compare_and_set_due(
    key_id: int, expect_version: int, expect_state: str, due: Due, **values: object
) -> Claim:
    """``compare_and_set`` for a scheduled change: also only if the key is still due
    (``due = (column, now)``: that column is ``<= now``), so a rotation or destruction
    another replica already did, or that was rescheduled, changes nothing."""
    return _claim(key_id, expect_version, expect_state, due, values)


def _claim(
    key_id: int, version: int, state: str, due: Due | None, values: dict[str, object]
) -> Claim:
    async def claim(s: AsyncSession) -> int | None:
        ok = await keys_repo.compare_and_set(s, key_id, version, state, values, due)
        return key_id if ok else None

    return claim


def insert(tenant: str, user_id: str, now: datetime, **values: object) -> Claim:
    """Claim a new row; a duplicate raises ``IntegrityError`` (the caller's KEY exists)."""

    async def claim(s: AsyncSession) -> int | None:
        return await keys_repo.insert_key(s, tenant, user_id, now, **values)

    return claim


@dataclass(frozen=True)
class History:
    version: int
    event: str
    reason: str | None
    actor: str
    at: datetime


@dataclass
class Change:
    """What the body of ``KeyUnit.change`` sees: the session, the claimed row's id,
    and the audit event, which the body may replace (e.g. to count what it did)."""

    session: AsyncSession
    key_id: int
    event: AuditEvent


class KeyUnit:
    def __init__(self, db: Database, audit: AuditSink, cache: KeyCache) -> None:
        self._db, self._audit, self._cache = db, audit, cache

    @asynccontextmanager
    async def change(
        self, ref: UserRef, claim: Claim, event: AuditEvent, history: History | None = None
    ) -> AsyncIterator[Change]:
        async with self._db.transaction() as s:
            key_id = await claim(s)
            if key_id is None:
                raise KeyConflict()
            change = Change(s, key_id, event)
            yield change
            if history is not None:
                keys_repo.add_history(
                    s,
                    key_id,
                    history.version,
                    history.event,
                    history.reason,
                    history.actor,
                    history.at,
                )
            self._audit.record_in(s, change.event)
        self._cache.changed(ref)

    async def commit(
        self, ref: UserRef, claim: Claim, event: AuditEvent, history: History | None = None
    ) -> None:
        """A change with no writes beyond the row's own (policy, state transitions)."""
        async with self.change(ref, claim, event, history):
            pass
