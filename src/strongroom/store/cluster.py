"""What replicas share to act as one: job leases, once-per-period claims, counters.

Job leases live in the database only (``cluster_leases``): whether a period's run
happened is decided in the same database, and the run's audit record commits in the
same transaction that moves the lease to the next period (services/jobs.py), so
"exactly once per period" can be counted from the audit trail.

Counters and once-per-period claims (the security-event rules, audit/events.py)
go to Redis when it is configured, else to the database; both give the same
answers. Counts are a sliding window estimated from two fixed windows (this one
and the previous one weighted by overlap), like the in-process counter they
replace. Names are hashed before they reach Redis or the database: addresses and
principal ids never appear there in clear.

Time is each replica's wall clock (UTC); replicas are expected to run NTP. A skew
of a second moves a window edge by a second, nothing more.
"""

from __future__ import annotations

import hashlib
import math
from datetime import UTC, datetime, timedelta
from typing import Protocol

from redis.asyncio import Redis
from sqlalchemy import delete, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from strongroom.store.db import Database
from strongroom.store.models import ClusterCounter, ClusterLease


def hashed(name: str) -> str:
    """A stable, short, opaque name for a subject (an address, a principal id)."""
    return hashlib.sha256(name.encode()).hexdigest()[:40]


def _at(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


# --- job leases (database) ----------------------------------------------------------


async def claim_job(
    db: Database, name: str, holder: str, now: datetime, lease: timedelta
) -> datetime | None:
    """Take job ``name``'s lease if the job is due and nobody holds a live lease.
    Returns the ``next_run_at`` it was due at (None: not due, or held). A holder
    that dies keeps the lease only until it expires."""
    async with db.transaction() as s:
        await _insert_ignore(s, ClusterLease, {"name": name, "next_run_at": now})
        q = (
            update(ClusterLease)
            .where(
                ClusterLease.name == name,
                ClusterLease.next_run_at <= now,
                or_(ClusterLease.expires_at.is_(None), ClusterLease.expires_at <= now),
            )
            .values(holder=holder, expires_at=now + lease)
            .returning(ClusterLease.next_run_at)
        )
        return (await s.execute(q)).scalar_one_or_none()


async def next_due(db: Database, name: str) -> datetime | None:
    """When job ``name`` may next be claimed: the later of its next period and the
    expiry of a live lease (None: never run)."""
    async with db.read() as s:
        row = (
            await s.execute(
                select(ClusterLease.next_run_at, ClusterLease.expires_at).where(
                    ClusterLease.name == name
                )
            )
        ).one_or_none()
    if row is None:
        return None
    times = [t for t in row if t is not None]
    return max(times) if times else None


async def finish_job(
    s: AsyncSession, name: str, holder: str, claimed: datetime, next_run_at: datetime
) -> bool:
    """In the caller's transaction: move the job to its next period and release the
    lease, only if this holder still holds the lease it claimed (False: it lapsed and
    another replica took the period over; the caller records nothing)."""
    q = (
        update(ClusterLease)
        .where(
            ClusterLease.name == name,
            ClusterLease.holder == holder,
            ClusterLease.next_run_at == claimed,
        )
        .values(next_run_at=next_run_at, holder=None, expires_at=None)
    )
    return bool((await s.execute(q)).rowcount == 1)  # type: ignore[attr-defined]


async def release_job(db: Database, name: str, holder: str) -> None:
    """Give the lease back without moving to the next period (the run failed: any
    replica may retry it at once)."""
    async with db.transaction() as s:
        await s.execute(
            update(ClusterLease)
            .where(ClusterLease.name == name, ClusterLease.holder == holder)
            .values(holder=None, expires_at=None)
        )


async def purge_expired(db: Database, now: datetime) -> int:
    """Delete counters and once-claims that have expired (job rows stay)."""
    async with db.transaction() as s:
        counters = await s.execute(delete(ClusterCounter).where(ClusterCounter.expires_at <= now))
        claims = await s.execute(
            delete(ClusterLease).where(
                ClusterLease.next_run_at.is_(None), ClusterLease.expires_at <= now
            )
        )
    return int(counters.rowcount + claims.rowcount)  # type: ignore[attr-defined]


async def _insert_ignore(s: AsyncSession, model: type[object], values: dict[str, object]) -> None:
    dialect = s.get_bind().dialect.name
    table = model.__table__  # type: ignore[attr-defined]
    if dialect == "postgresql":
        await s.execute(pg_insert(table).values(**values).on_conflict_do_nothing())
    else:
        await s.execute(sqlite_insert(table).values(**values).on_conflict_do_nothing())


# --- shared counters and once-claims --------------------------------------------------


class SharedCounters(Protocol):
    """Counts and once-per-period claims shared by every replica."""

    async def add(self, name: str, window_s: float, now: float) -> int:
        """Count one event under ``name``; returns the events in the last ``window_s``."""
        ...

    async def once(self, name: str, period_s: float, now: float) -> bool:
        """True for exactly one caller per ``name`` and period, cluster-wide."""
        ...

    async def close(self) -> None: ...


def _estimate(current: int, previous: int, now: float, window_s: float) -> int:
    overlap = 1.0 - (now % window_s) / window_s
    return current + int(previous * overlap)


class DatabaseCounters:
    """``SharedCounters`` in ``cluster_counters`` / ``cluster_leases`` (no Redis)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, name: str, window_s: float, now: float) -> int:
        key, window = "c:" + hashed(name), int(now // window_s)
        expires = _at((window + 2) * window_s)
        async with self._db.transaction() as s:
            values = {"name": key, "window": window, "count": 1, "expires_at": expires}
            postgres = s.get_bind().dialect.name == "postgresql"
            stmt = pg_insert(ClusterCounter) if postgres else sqlite_insert(ClusterCounter)
            upsert = stmt.values(**values).on_conflict_do_update(
                index_elements=["name", "window"], set_={"count": ClusterCounter.count + 1}
            )
            current = (await s.execute(upsert.returning(ClusterCounter.count))).scalar_one()
            previous = (
                await s.execute(
                    select(ClusterCounter.count).where(
                        ClusterCounter.name == key, ClusterCounter.window == window - 1
                    )
                )
            ).scalar_one_or_none()
        return _estimate(int(current), int(previous or 0), now, window_s)

    async def once(self, name: str, period_s: float, now: float) -> bool:
        key, at = "o:" + hashed(name), _at(now)
        async with self._db.transaction() as s:
            await _insert_ignore(s, ClusterLease, {"name": key, "expires_at": _at(0)})
            taken = await s.execute(
                update(ClusterLease)
                .where(ClusterLease.name == key, ClusterLease.expires_at <= at)
                .values(expires_at=_at(now + period_s))
            )
        return bool(taken.rowcount == 1)  # type: ignore[attr-defined]

    async def close(self) -> None:
        return None


# KEYS[1] this window, KEYS[2] the previous one; ARGV[1] time to live (s).
_ADD_LUA = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return {n, tonumber(redis.call('GET', KEYS[2]) or '0')}
"""


class RedisCounters:
    """``SharedCounters`` in Redis: one round trip per count (a Lua script), one
    ``SET NX PX`` per claim."""

    def __init__(self, url: str, prefix: str = "sr:cluster:") -> None:
        self._redis: Redis = Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)
        self._prefix = prefix
        self._add = self._redis.register_script(_ADD_LUA)

    async def add(self, name: str, window_s: float, now: float) -> int:
        key, window = self._prefix + "c:" + hashed(name), int(now // window_s)
        ttl = math.ceil(2 * window_s) + 1
        keys = [f"{key}:{window}", f"{key}:{window - 1}"]
        current, previous = await self._add(keys=keys, args=[ttl])
        return _estimate(int(current), int(previous), now, window_s)

    async def once(self, name: str, period_s: float, now: float) -> bool:
        key = self._prefix + "o:" + hashed(name)
        ms = max(1, int(period_s * 1000))
        return bool(await self._redis.set(key, b"1", nx=True, px=ms))

    async def close(self) -> None:
        await self._redis.aclose()
