"""Scheduled work runs once cluster-wide (issue #19): two replicas' passes over the
same due keys rotate each key once, and the job runner (services/jobs.py) runs each
job once per period whatever the number of replicas, counted from the audit trail,
and survives the death of a lease holder."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from strongroom.audit.actions import JobAction
from strongroom.context import Actor
from strongroom.kms.local import create_master_key_file
from strongroom.services.container import Services, build_services
from strongroom.services.jobs import JobRunner, period_of
from strongroom.store import cluster, keys_repo
from strongroom.store.db import Database
from strongroom.store.migrate import upgrade
from strongroom.store.models import AuditRecord
from strongroom.store.tenancy import enter_system_scope
from tests.api.conftest import make_settings
from tests.databases import clone_sqlite

ACTOR = Actor("test", "default", "rid", None)
KEYS = 40


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return clone_sqlite(request.getfixturevalue("sqlite_template"), tmp_path / "s.db")
    server = request.getfixturevalue("postgres_server")
    url = server.create_database(template=request.getfixturevalue("postgres_template"))
    return str(server.app_role_url(url.rsplit("/", 1)[1]))


@pytest.fixture
async def replicas(database_url: str, tmp_path: Path) -> AsyncIterator[list[Services]]:
    """Two replicas (service containers) on one database, scheduler off: the tests
    drive the passes themselves."""
    create_master_key_file(tmp_path / "strongroom.key")
    settings = make_settings(database_url, tmp_path)
    enter_system_scope()
    started = []
    try:
        for _ in range(2):
            svc = build_services(settings)
            await svc.start()
            started.append(svc)
        yield started
    finally:
        enter_system_scope()
        for svc in started:
            await svc.close()


async def job_runs(svc: Services, job: str) -> list[str]:
    """The ``period`` of every successful ``job.run`` record of ``job``."""
    await asyncio.sleep(0)
    async with svc.db.read() as s:
        rows = (
            await s.execute(
                select(AuditRecord.detail, AuditRecord.outcome).where(
                    AuditRecord.action == JobAction.RUN.value, AuditRecord.target == job
                )
            )
        ).all()
    return [str(d["period"]) for d, outcome in rows if d and outcome == "success"]


async def test_two_replicas_rotate_each_due_key_once(replicas: list[Services]) -> None:
    a, b = replicas
    for i in range(KEYS):
        await a.keys.create(ACTOR, f"u{i}", None, None)
    due = a.keys.core.clock() + timedelta(days=91)
    # The issue's reproduction: both replicas' passes over the same 40 due keys.
    rotated = await asyncio.gather(a.lifecycle.rotate_due(due), b.lifecycle.rotate_due(due))
    assert sum(rotated) == KEYS
    for i in range(KEYS):
        info = await a.keys.core.load("default", f"u{i}", fresh=True)
        assert info.current_version == 2, (f"u{i}", info.current_version)
    # A later pass at the same instant finds nothing due.
    assert await b.lifecycle.rotate_due(due) == 0


async def test_a_pass_with_a_stale_due_list_rotates_nothing(
    replicas: list[Services], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The interleaving of the issue, made deterministic: replica B reads the due list,
    replica A's whole pass rotates every key, then B works through its list."""
    a, b = replicas
    for i in range(5):
        await a.keys.create(ACTOR, f"s{i}", None, None)
    due = a.keys.core.clock() + timedelta(days=91)
    async with b.db.read() as s:
        stale = await keys_repo.due_for_rotation(s, due)
        destroy_stale = await keys_repo.due_for_destruction(s, due)
    assert len(stale) == 5 and not destroy_stale
    assert await a.lifecycle.rotate_due(due) == 5

    async def stale_list(_s: object, _now: datetime, limit: int = 500) -> object:
        return stale

    monkeypatch.setattr(keys_repo, "due_for_rotation", stale_list)
    assert await b.lifecycle.rotate_due(due) == 0  # was 5, each key at version 3
    for i in range(5):
        assert (await b.keys.core.load("default", f"s{i}", fresh=True)).current_version == 2


async def test_destruction_is_not_repeated_or_revived(replicas: list[Services]) -> None:
    a, b = replicas
    for i in range(5):
        await a.keys.create(ACTOR, f"d{i}", None, None)
        await a.lifecycle.schedule_deletion(ACTOR, f"d{i}", 0)
    later = a.keys.core.clock() + timedelta(seconds=1)
    done = await asyncio.gather(a.lifecycle.destroy_due(later), b.lifecycle.destroy_due(later))
    assert sum(done) == 5


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2030, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


async def test_each_job_runs_once_per_period_across_runners(replicas: list[Services]) -> None:
    a, b = replicas
    clock, calls = Clock(), []

    async def job(now: datetime) -> int:
        calls.append(now)
        await asyncio.sleep(0.01)  # the others' passes overlap this run
        return 1

    runners = []
    for svc in (a, b, a):  # three runners, two processes' worth of services
        runner = JobRunner(svc.db, svc.audit, clock=clock)
        runner.register("test.job", job, 10.0)
        runners.append(runner)
    periods = 6
    for _ in range(periods):
        for _ in range(3):  # several polls per period from every runner
            await asyncio.gather(*(r.run_due() for r in runners))
        clock.now += timedelta(seconds=10)
    assert len(calls) == periods
    await a.audit.close()  # flush: every record written
    runs = await job_runs(b, "test.job")
    assert len(runs) == len(set(runs)) == periods


async def test_a_dead_holders_lease_lapses(replicas: list[Services]) -> None:
    a, _ = replicas
    clock, calls = Clock(), []

    async def job(now: datetime) -> int:
        calls.append(now)
        return 0

    runner = JobRunner(a.db, a.audit, clock=clock)
    runner.register("test.lease", job, 60.0, lease_seconds=30.0)
    # Another replica took the lease and died (SIGKILL) before finishing.
    claimed = await cluster.claim_job(a.db, "test.lease", "dead", clock(), timedelta(seconds=30))
    assert claimed is not None
    assert await runner.run_due() == {}
    clock.now += timedelta(seconds=29)
    assert await runner.run_due() == {}
    clock.now += timedelta(seconds=2)  # its lease has expired: the period is run once
    assert await runner.run_due() == {"test.lease": 0}
    assert await runner.run_due() == {}
    assert len(calls) == 1
    start, end = period_of(clock.now, 60.0)
    due = await cluster.next_due(a.db, "test.lease")
    assert due == end and start < clock.now


async def test_a_failed_run_is_audited_and_retried(replicas: list[Services]) -> None:
    a, _ = replicas
    clock, outcomes = Clock(), [None, 3]

    async def job(now: datetime) -> int:
        result = outcomes.pop(0)
        if result is None:
            raise RuntimeError("boom")
        return result

    runner = JobRunner(a.db, a.audit, clock=clock)
    runner.register("test.flaky", job, 60.0)
    assert await runner.run_due() == {}
    assert await runner.run_due() == {}  # backing off: a failing job does not spin
    clock.now += timedelta(seconds=5)
    assert await runner.run_due() == {"test.flaky": 3}  # same period, retried
    assert outcomes == []
    await a.audit.close()
    async with a.db.read() as s:
        rows = (
            await s.execute(
                select(AuditRecord.outcome, AuditRecord.item_count).where(
                    AuditRecord.target == "test.flaky"
                )
            )
        ).all()
    assert sorted(rows, key=str) == [("failure", None), ("success", 3)]


def test_registration_is_checked(tmp_path: Path) -> None:
    runner = JobRunner(None, None)  # type: ignore[arg-type]

    async def job(now: datetime) -> int:
        return 0

    runner.register("x", job, 1.0)
    with pytest.raises(ValueError, match="twice"):
        runner.register("x", job, 1.0)
    with pytest.raises(ValueError, match="positive"):
        runner.register("y", job, 0)


@pytest.mark.postgres
async def test_replicas_starting_together_migrate_one_after_another(postgres_server: Any) -> None:
    """Without the advisory lock, concurrent first starts fail on duplicate tables."""
    url = postgres_server.create_database()
    dbs = [Database(url) for _ in range(3)]
    try:
        await asyncio.gather(*(upgrade(db) for db in dbs))
        async with dbs[0].engine.connect() as conn:
            version = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar()
        assert version == "0014"
    finally:
        for db in dbs:
            await db.dispose()


async def test_a_runner_knocks_only_when_a_job_may_be_due(
    replicas: list[Services], monkeypatch: pytest.MonkeyPatch
) -> None:
    a, _ = replicas
    clock, claims = Clock(), []
    real_claim = cluster.claim_job

    async def counting(*args: Any, **kw: Any) -> datetime | None:
        claims.append(args[1])
        return await real_claim(*args, **kw)

    monkeypatch.setattr(cluster, "claim_job", counting)

    async def job(now: datetime) -> int:
        return 0

    runner = JobRunner(a.db, a.audit, clock=clock)
    runner.register("test.quiet", job, 60.0)
    assert runner.sleep_time() == 0.0  # never looked: at once
    assert await runner.run_due() == {"test.quiet": 0}
    for _ in range(5):  # polls within the period and MAX_SLEEP: no claim attempted
        assert await runner.run_due() == {}
    assert claims == ["test.quiet"]
    assert 4.9 <= runner.sleep_time() <= 5.3  # MAX_SLEEP, plus jitter
    clock.now += timedelta(seconds=60)
    assert await runner.run_due() == {"test.quiet": 0}
    assert len(claims) == 2


@pytest.mark.postgres
async def test_replicas_starting_together_print_one_bootstrap_key(
    postgres_server: Any, postgres_template: str, tmp_path: Path
) -> None:
    from strongroom.cli.server import _bootstrap

    url = postgres_server.create_database(template=postgres_template)
    create_master_key_file(tmp_path / "strongroom.key")
    settings = make_settings(postgres_server.app_role_url(url.rsplit("/", 1)[1]), tmp_path)
    enter_system_scope()
    started = [build_services(settings) for _ in range(3)]
    try:
        for svc in started:
            await svc.start()
        keys = await asyncio.gather(*(_bootstrap(svc) for svc in started))
        assert sum(k is not None for k in keys) == 1, keys
        assert await started[0].access.count() == 1
    finally:
        for svc in started:
            await svc.close()
