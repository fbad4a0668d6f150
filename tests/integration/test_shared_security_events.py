"""The counting security rules count across replicas (audit/shared_rules.py): 3 bad
keys to each of two replicas raise ``auth.failures`` once, through Redis or, without
it, the database; per replica they raised nothing. A shared store that fails means
counting per replica, never a lost or failed request."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from strongroom.audit.actions import AuthAction, SecurityAction
from strongroom.audit.alerts import SecurityAlerts
from strongroom.audit.events import SecurityMonitor
from strongroom.audit.models import AuditEvent, Outcome
from strongroom.audit.redact import AuditHasher
from strongroom.audit.shared_rules import SharedAuthRules
from strongroom.context import Actor
from strongroom.store.cluster import (
    DatabaseCounters,
    RedisCounters,
    SharedCounters,
    purge_expired,
)
from strongroom.store.db import Database
from tests.databases import clone_sqlite

ADDR = "203.0.113.9"


class Trail:
    """Stands in for the audit log: collects the security records appended."""

    hasher: AuditHasher | None = None

    def __init__(self) -> None:
        self.events: list[AuditEvent] = []

    async def append(self, event: AuditEvent) -> None:
        self.events.append(event)


def bad_key(n: int) -> AuditEvent:
    actor = Actor("anonymous", "default", f"r{n}", ADDR)
    return AuditEvent(actor, AuthAction.API_KEY, Outcome.FAILURE, detail={"reason": "unknown"})


@pytest.fixture(params=["redis", "postgres", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str]:
    """(kind, url) of the shared store the replicas count in."""
    if request.param == "redis":
        return "redis", str(request.getfixturevalue("redis_server").url)
    if request.param == "postgres":
        pg = request.getfixturevalue("postgres_server")
        url = pg.create_database(template=request.getfixturevalue("postgres_template"))
        return "db", str(pg.app_role_url(url.rsplit("/", 1)[1]))
    return "db", clone_sqlite(request.getfixturevalue("sqlite_template"), tmp_path / "s.db")


@pytest.fixture
async def counters(store: tuple[str, str], tmp_path: Path) -> AsyncIterator[Any]:
    """A factory of counters that all reach the same shared store (one per replica)."""
    kind, url = store
    made: list[SharedCounters] = []
    dbs: list[Database] = []

    def make() -> SharedCounters:
        if kind == "redis":  # tests share the server: keys of their own
            made.append(RedisCounters(url, prefix=f"sr:test:{tmp_path.name}:"))
        else:
            dbs.append(Database(url))
            made.append(DatabaseCounters(dbs[-1]))
        return made[-1]

    yield make
    for c in made:
        await c.close()
    for db in dbs:
        await db.dispose()


def replica(counters: SharedCounters | None) -> tuple[SecurityAlerts, Trail]:
    monitor = SecurityMonitor()
    shared = SharedAuthRules(monitor, counters) if counters is not None else None
    alerts, trail = SecurityAlerts(monitor, shared=shared), Trail()
    alerts.attach(trail)
    return alerts, trail


def raised(*trails: Trail) -> list[str]:
    return sorted(
        str(e.target) for t in trails for e in t.events if e.action == SecurityAction.AUTH_FAILURES
    )


async def feed(alerts: SecurityAlerts, start: int, n: int) -> None:
    for i in range(start, start + n):
        alerts.observe(bad_key(i))
        await alerts.drain()  # the counts of one request settle before the next


async def test_guesses_spread_over_two_replicas_add_up(counters: Any) -> None:
    (a, ta), (b, tb) = replica(counters()), replica(counters())
    await feed(a, 0, 3)
    await feed(b, 3, 3)
    assert raised(ta, tb) == [f"addr:{ADDR}"]
    await feed(a, 6, 4)  # more in the same minute: still one
    await feed(b, 10, 4)
    assert raised(ta, tb) == [f"addr:{ADDR}"]


async def test_per_replica_counting_misses_them() -> None:
    """What the shared counts fix: counted per replica, 3 + 3 raise nothing."""
    (a, ta), (b, tb) = replica(None), replica(None)
    await feed(a, 0, 3)
    await feed(b, 3, 3)
    assert raised(ta, tb) == []
    await feed(a, 6, 2)  # 5 at one replica do
    assert raised(ta, tb) == [f"addr:{ADDR}"]


class Broken:
    async def add(self, name: str, window_s: float, now: float) -> int:
        raise ConnectionError("down")

    async def once(self, name: str, period_s: float, now: float) -> bool:
        raise ConnectionError("down")

    async def close(self) -> None:
        return None


async def test_a_failing_shared_store_means_counting_here() -> None:
    a, ta = replica(Broken())
    await feed(a, 0, 5)
    assert raised(ta) == [f"addr:{ADDR}"]


async def test_expired_database_counts_are_purged(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = clone_sqlite(request.getfixturevalue("sqlite_template"), tmp_path / "p.db")
    db = Database(url)
    try:
        counters = DatabaseCounters(db)
        past = 1_000_000.0  # long ago: every window and claim has expired
        assert await counters.add("auth-failures:x", 60.0, past) == 1
        assert await counters.add("auth-failures:x", 60.0, past + 1) == 2
        assert await counters.once("auth.failures:x", 60.0, past) is True
        assert await counters.once("auth.failures:x", 60.0, past + 1) is False
        assert await purge_expired(db, datetime.now(UTC)) == 2  # one counter, one claim
        assert await purge_expired(db, datetime.now(UTC)) == 0
        assert await counters.once("auth.failures:x", 60.0, past + 2) is True  # claimable
    finally:
        await db.dispose()
