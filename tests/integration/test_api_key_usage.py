"""Stored API keys' usage (credentials/usage.py) on real SQLite and PostgreSQL: counts
equal the uses exactly, ``record`` writes nothing, a flush is two statements whatever
the number of uses, replicas add up, "last used" moves forward only, retention
purges, and row-level security hides another tenant's rows."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, func, select

from strongroom.config.usage import UsageSettings
from strongroom.credentials.contract import Use, UseKind
from strongroom.credentials.usage import UsageRecorder
from strongroom.store.db import Database
from strongroom.store.models import ApiKeyUsageHour, ApiKeyUsageSource
from strongroom.store.tenancy import enter_system_scope, isolated_scope, set_tenant
from tests.databases import clone_sqlite

T0 = datetime(2026, 12, 3, 9, 15, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return clone_sqlite(request.getfixturevalue("sqlite_template"), tmp_path / "s.db")
    server = request.getfixturevalue("postgres_server")
    url = server.create_database(template=request.getfixturevalue("postgres_template"))
    return str(server.app_role_url(url.rsplit("/", 1)[1]))


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    enter_system_scope()
    database = Database(database_url)
    yield database
    await database.dispose()


@contextmanager
def writes(db: Database) -> Iterator[list[str]]:
    """Every INSERT/UPDATE/DELETE statement sent to the database inside the block."""
    seen: list[str] = []

    def count(_c: Any, _cur: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().split(" ", 1)[0].upper() in ("INSERT", "UPDATE", "DELETE"):
            seen.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", count)


def use(i: int, *, key: int = 1, tenant: str = "default", **kw: Any) -> Use:
    values: dict[str, Any] = {
        "tenant": tenant,
        "key_id": key,
        "kind": UseKind.BROKER,
        "caller": f"caller-{i % 3}",
        "source": f"198.51.100.{i % 5}",
        "host": "api.example.com",
        "status": (200, 200, 200, 404, 503)[i % 5],
        "at": T0 + timedelta(seconds=i),
    }
    return Use(**{**values, **kw})


async def totals(db: Database, tenant: str = "default") -> dict[tuple[str, str, str], int]:
    async with db.read() as s:
        q = select(
            ApiKeyUsageHour.caller,
            ApiKeyUsageHour.status_class,
            ApiKeyUsageHour.kind,
            func.sum(ApiKeyUsageHour.count),
        ).where(ApiKeyUsageHour.tenant_id == tenant)
        q = q.group_by(ApiKeyUsageHour.caller, ApiKeyUsageHour.status_class, ApiKeyUsageHour.kind)
        return {(c, sc, k): int(n) for c, sc, k, n in (await s.execute(q)).all()}


async def test_ten_thousand_uses_are_counted_exactly_in_at_most_twenty_writes(
    db: Database,
) -> None:
    recorder = UsageRecorder(db, UsageSettings(flush_interval_seconds=300))
    with writes(db) as seen:
        for i in range(10_000):
            recorder.record(use(i))
        assert seen == []  # record() itself never writes
        await recorder.close()  # the early flush (10,000 buffered) and the closing one
    assert 0 < len(seen) <= 20, len(seen)
    got = await totals(db)
    assert sum(got.values()) == 10_000
    # 10,000 uses in 3 callers x 5 statuses: exactly as many as were made of each
    expected: dict[tuple[str, str, str], int] = {}
    for i in range(10_000):
        u = use(i)
        cls = f"{u.status // 100}xx" if u.status else "none"
        k = (u.caller, cls, "broker")
        expected[k] = expected.get(k, 0) + 1
    assert got == expected


async def test_two_replicas_flushing_add_up(db: Database) -> None:
    a = UsageRecorder(db, UsageSettings())
    b = UsageRecorder(db, UsageSettings())
    for i in range(300):
        (a if i % 2 else b).record(use(i, caller="svc"))
    await a.flush()
    await b.flush()
    for i in range(300, 307):
        a.record(use(i, caller="svc"))
    await a.close()
    await b.close()
    assert sum((await totals(db)).values()) == 307


async def test_last_use_and_sources_move_forward_only(db: Database) -> None:
    late = UsageRecorder(db, UsageSettings())
    early = UsageRecorder(db, UsageSettings())
    late.record(use(0, caller="newest", source="192.0.2.1", at=T0 + timedelta(hours=2)))
    early.record(use(0, caller="older", source="192.0.2.1", at=T0))
    early.record(use(0, caller="older", source=None, at=T0 + timedelta(minutes=1)))
    await late.close()
    await early.close()  # flushed after the newer use: must not move it back
    async with db.read() as s:
        rows = {r.source: r for r in (await s.execute(select(ApiKeyUsageSource))).scalars()}
    assert set(rows) == {"192.0.2.1", ""}
    assert rows["192.0.2.1"].last_caller == "newest"
    assert rows["192.0.2.1"].last_at == T0 + timedelta(hours=2)
    assert rows["192.0.2.1"].first_at == T0


async def test_retention_purges_old_rows_only(db: Database) -> None:
    recorder = UsageRecorder(db, UsageSettings(retention_days=30))
    recorder.record(use(0, at=T0 - timedelta(days=31), source="192.0.2.9"))
    recorder.record(use(1, at=T0 - timedelta(days=1)))
    await recorder.flush()
    assert await recorder.purge(T0) == 2  # one hour row, one source row
    assert sum((await totals(db)).values()) == 1
    await recorder.close()


async def test_a_failed_flush_keeps_its_batch(db: Database, database_url: str) -> None:
    broken = (
        Database(database_url.replace("s.db", "missing/s.db"))
        if "sqlite" in (database_url)
        else Database(database_url.rsplit("/", 1)[0] + "/no_such_database")
    )
    recorder = UsageRecorder(broken, UsageSettings())
    for i in range(5):
        recorder.record(use(i))
    assert await recorder.flush() == 0
    await broken.dispose()
    recorder._db = db  # the database is back
    assert await recorder.flush() == 5
    assert sum((await totals(db)).values()) == 5
    await recorder.close()


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_row_level_security_hides_other_tenants(db: Database) -> None:
    recorder = UsageRecorder(db, UsageSettings())
    recorder.record(use(0, tenant="alpha"))
    recorder.record(use(1, tenant="beta", source="192.0.2.7"))
    await recorder.close()
    with isolated_scope():
        set_tenant("alpha")
        assert sum((await totals(db, "beta")).values()) == 0
        assert sum((await totals(db, "alpha")).values()) == 1
        async with db.read() as s:
            seen = (await s.execute(select(ApiKeyUsageSource.tenant_id))).scalars().all()
        assert set(seen) == {"alpha"}
