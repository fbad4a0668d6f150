"""Anomaly rules over stored keys' uses (credentials/anomaly.py), on real SQLite and
PostgreSQL, deterministic (the uses carry their own times): each rule raises exactly
one event on its synthetic traffic and none on normal traffic; an episode raises one
event however long it lasts; two replicas raise one; the automatic block is off by
default and, when on, blocks through the KeyDirectory."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from strongroom.audit.actions import SecurityRule
from strongroom.audit.events import SecurityEvent
from strongroom.config.usage import UsageSettings
from strongroom.credentials.anomaly import AnomalyDetector
from strongroom.credentials.contract import Use, UseKind
from strongroom.credentials.usage import UsageRecorder
from strongroom.store import usage_repo
from strongroom.store.cluster import DatabaseCounters, RedisCounters, SharedCounters
from strongroom.store.db import Database
from strongroom.store.tenancy import enter_system_scope
from tests.databases import clone_sqlite

KEY, TENANT = 7, "default"
DAY0 = datetime(2026, 11, 17, tzinfo=UTC)  # history: 14 days, 08:00-17:59 UTC
NOW = DAY0 + timedelta(days=14, hours=10)  # the normal phase starts at 10:00
CALLERS = ("ak_one", "ak_two", "ak_three")
SOURCES = ("198.51.100.1", "198.51.100.2")


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return clone_sqlite(request.getfixturevalue("sqlite_template"), tmp_path / "s.db")
    server = request.getfixturevalue("postgres_server")
    url = server.create_database(template=request.getfixturevalue("postgres_template"))
    return str(server.app_role_url(url.rsplit("/", 1)[1]))


@dataclass
class Alerts:
    events: list[SecurityEvent] = field(default_factory=list)

    async def raise_events(self, events: list[SecurityEvent]) -> None:
        self.events += events


@dataclass
class Blocks:
    blocked: list[tuple[str, int, str]] = field(default_factory=list)

    async def usable(self, actor: Any) -> list[Any]:
        return []

    async def describe(self, actor: Any, project: str, key: str) -> Any:
        raise AssertionError("not used")

    async def block(self, tenant: str, key_id: int, reason: str) -> None:
        self.blocked.append((tenant, key_id, reason))


@dataclass
class Replica:
    recorder: UsageRecorder
    detector: AnomalyDetector
    alerts: Alerts
    blocks: Blocks

    def use(self, at: datetime, n: int = 1, **kw: Any) -> None:
        for i in range(n):
            values: dict[str, Any] = {
                "tenant": TENANT,
                "key_id": KEY,
                "kind": UseKind.BROKER,
                "caller": CALLERS[i % 3],
                "source": SOURCES[i % 2],
                "host": "api.stripe.com",
                "status": 200,
                "at": at + timedelta(milliseconds=i),
            }
            self.recorder.record(Use(**{**values, **kw}))

    async def settle(self) -> list[SecurityRule]:
        await self.detector.drain()
        return [e.rule for e in self.alerts.events]


async def _seed(db: Database) -> None:
    """14 days of history in the usual hours, as flushed hour rows: 240 uses an hour."""
    hours, seen = [], []
    for day in range(14):
        for h in range(8, 18):
            at = DAY0 + timedelta(days=day, hours=h)
            for caller in CALLERS:
                hours.append(
                    {"tenant_id": TENANT, "key_id": KEY, "hour": at, "kind": "broker",
                     "caller": caller, "host": "api.stripe.com", "status_class": "2xx",
                     "count": 80}
                )  # fmt: skip
    for source in SOURCES:
        seen.append(
            {"tenant_id": TENANT, "key_id": KEY, "source": source, "first_at": DAY0,
             "last_at": NOW - timedelta(hours=16), "last_caller": CALLERS[0]}
        )  # fmt: skip
    async with db.transaction() as s:
        await usage_repo.add_hours(s, hours)
        await usage_repo.touch_sources(s, seen)


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    enter_system_scope()
    database = Database(database_url)
    await _seed(database)
    yield database
    await database.dispose()


def replica(db: Database, **settings: Any) -> Replica:
    recorder = UsageRecorder(db, UsageSettings(flush_interval_seconds=300, **settings))
    alerts, blocks = Alerts(), Blocks()
    detector = AnomalyDetector(
        recorder.settings, db, recorder, alerts, DatabaseCounters(db), directory=blocks
    )
    recorder.observers.append(detector.observe)
    return Replica(recorder, detector, alerts, blocks)


async def normal(r: Replica, start: datetime = NOW, minutes: int = 120) -> None:
    """Usual traffic: 20 uses per 5 minutes by the known callers from the known
    addresses, an occasional 404, one 503 and one 401 an hour."""
    for m in range(0, minutes, 5):
        at = start + timedelta(minutes=m)
        r.use(at, 18)
        r.use(at + timedelta(seconds=30), 1, status=404)
        r.use(at + timedelta(seconds=40), 1, status=503 if m % 60 == 0 else 201)
        if m % 60 == 30:
            r.use(at + timedelta(seconds=50), 1, status=401)
    await r.recorder.flush()


@pytest.fixture
async def warm(db: Database) -> AsyncIterator[Replica]:
    r = replica(db)
    await normal(r)
    assert await r.settle() == []  # normal traffic raises nothing
    yield r
    await r.recorder.close()


AFTER = NOW + timedelta(hours=2)  # 12:00, still a usual hour


def rate(r: Replica) -> None:
    """10x the ~20 uses per window, and the burst goes on into the next window."""
    r.use(AFTER, 450)
    r.use(AFTER + timedelta(minutes=5), 450)


def new_caller(r: Replica) -> None:
    r.use(AFTER, 30, caller="ak_stranger")


def new_source(r: Replica) -> None:
    r.use(AFTER, 30, source="203.0.113.99")


def off_hours(r: Replica) -> None:
    for m in range(0, 50, 10):  # 03:00-03:50 UTC the next day
        r.use(NOW + timedelta(hours=17, minutes=m), 3)


def upstream_auth(r: Replica) -> None:
    for s in range(0, 40, 2):
        r.use(AFTER + timedelta(seconds=s), 1, status=401)


def errors(r: Replica) -> None:
    for s in range(0, 50, 2):
        r.use(AFTER + timedelta(seconds=s), 1, status=502 if s % 4 else None)


def denied_host(r: Replica) -> None:
    for m in range(0, 30, 3):
        r.use(
            AFTER + timedelta(minutes=m), 1, kind=UseKind.DENIED, host="evil.example", status=None
        )


SYNTHETIC: dict[SecurityRule, Callable[[Replica], None]] = {
    SecurityRule.USAGE_RATE: rate,
    SecurityRule.USAGE_NEW_CALLER: new_caller,
    SecurityRule.USAGE_NEW_SOURCE: new_source,
    SecurityRule.USAGE_OFF_HOURS: off_hours,
    SecurityRule.USAGE_UPSTREAM_AUTH: upstream_auth,
    SecurityRule.USAGE_ERRORS: errors,
    SecurityRule.USAGE_DENIED_HOST: denied_host,
}


@pytest.mark.parametrize("rule", list(SYNTHETIC), ids=str)
async def test_each_rule_fires_once_on_its_traffic(warm: Replica, rule: SecurityRule) -> None:
    SYNTHETIC[rule](warm)
    assert await warm.settle() == [rule]
    # The episode goes on: the same traffic a little later raises nothing more.
    await normal(warm, AFTER + timedelta(minutes=10), 10)
    SYNTHETIC[rule](warm)
    assert await warm.settle() == [rule]
    event = warm.alerts.events[0]
    assert event.subject == f"api-key:{KEY}" and event.tenant == TENANT
    assert warm.blocks.blocked == []  # no automatic block unless asked


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_new_episode_after_the_quiet_period(warm: Replica) -> None:
    SYNTHETIC[SecurityRule.USAGE_DENIED_HOST](warm)
    assert await warm.settle() == [SecurityRule.USAGE_DENIED_HOST]
    later = AFTER + timedelta(hours=3)  # the last trip was 12:27; quiet period 1 hour
    warm.use(later, 1, kind=UseKind.DENIED, host="evil.example", status=None)
    assert await warm.settle() == [SecurityRule.USAGE_DENIED_HOST] * 2


async def test_two_replicas_raise_one_event_per_episode(db: Database) -> None:
    a, b = replica(db), replica(db)
    await normal(a)
    for r in (a, b):
        SYNTHETIC[SecurityRule.USAGE_DENIED_HOST](r)
    assert sorted([*(await a.settle()), *(await b.settle())]) == [SecurityRule.USAGE_DENIED_HOST]
    await a.recorder.close()
    await b.recorder.close()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_automatic_block_per_rule(db: Database) -> None:
    r = replica(db, auto_block=["denied_host"])
    await normal(r)
    SYNTHETIC[SecurityRule.USAGE_UPSTREAM_AUTH](r)  # raised, not a blocking rule
    SYNTHETIC[SecurityRule.USAGE_DENIED_HOST](r)
    assert sorted(await r.settle()) == sorted(
        [SecurityRule.USAGE_UPSTREAM_AUTH, SecurityRule.USAGE_DENIED_HOST]
    )
    assert r.blocks.blocked == [(TENANT, KEY, "anomaly: usage.denied_host")]
    await r.recorder.close()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_disabled_rules_and_first_use_are_quiet(db: Database) -> None:
    r = replica(db, disabled_rules=["denied_host"])
    SYNTHETIC[SecurityRule.USAGE_DENIED_HOST](r)
    # A key never used before: its first caller and address are not "new".
    r.use(AFTER, 3, key_id=99, caller="first", source="192.0.2.1")
    assert await r.settle() == []
    await r.recorder.close()


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
@pytest.mark.parametrize("shared", ["redis", "database"])
async def test_bursts_spread_over_replicas_add_up_in_the_shared_store(
    db: Database, shared: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """Three upstream 401s at each of two replicas are a burst of six (threshold 5):
    one event, as five at one replica would be."""

    def store() -> SharedCounters:
        if shared == "redis":
            url = str(request.getfixturevalue("redis_server").url)
            return RedisCounters(url, prefix=f"sr:test:{tmp_path.name}:")
        return DatabaseCounters(db)

    replicas, stores = [], []
    for _ in range(2):
        r = replica(db)
        claims, counts = store(), store()
        stores += [claims, counts]
        r.detector = AnomalyDetector(
            r.recorder.settings, db, r.recorder, r.alerts, claims, burst_counters=counts
        )
        r.recorder.observers[:] = [r.detector.observe]
        replicas.append(r)
    for i in range(6):
        replicas[i % 2].use(AFTER + timedelta(seconds=i), 1, status=401)
    raised = [*(await replicas[0].settle()), *(await replicas[1].settle())]
    assert raised == [SecurityRule.USAGE_UPSTREAM_AUTH]
    for r in replicas:
        await r.recorder.close()
    for c in stores:
        await c.close()
