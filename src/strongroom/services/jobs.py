"""Scheduled jobs that run once per period cluster-wide, whatever the replica count.

A job is ``async def run_once(now) -> int`` (how much it did), registered by name
with an interval. Periods are aligned to the epoch (period k covers
``[k*interval, (k+1)*interval)``). Every replica runs a ``JobRunner``; for each due
job one replica wins its lease (store/cluster.py ``claim_job``: a row in
``cluster_leases``), runs it, and in ONE transaction moves the job to its next
period, releases the lease and appends the ``job.run`` audit record. So the audit
trail holds exactly one ``job.run`` per job and period that ran, which is how the
tests count "exactly once".

If the holder dies mid-run its lease lapses after ``lease_seconds`` and another
replica runs the period again: a job must be safe to repeat. The key jobs are: each
rotation and destruction re-checks under its compare-and-set that it is still due
(keys/lifecycle.py), so a repeated or concurrent pass changes nothing twice. A run
that raises releases the lease without moving on and is audited (outcome
failure); any replica may retry it, the one where it failed after a back-off
(the interval, at most ``MAX_SLEEP``).
"""

from __future__ import annotations

import asyncio
import math
import os
import random
import socket
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import structlog

from strongroom.audit.actions import JobAction
from strongroom.audit.interfaces import AuditSink
from strongroom.audit.models import AuditEvent, Outcome
from strongroom.context import Actor
from strongroom.store import cluster
from strongroom.store.db import Database

log = structlog.get_logger("strongroom.jobs")

JobFn = Callable[[datetime], Awaitable[int]]
ACTOR = "system:jobs"
MAX_SLEEP = 5.0  # the longest a runner sleeps before looking again (new jobs, drift)


@dataclass(frozen=True)
class Job:
    name: str
    run_once: JobFn
    interval: float
    lease: float


def period_of(now: datetime, interval: float) -> tuple[datetime, datetime]:
    """(start, end) of the epoch-aligned period holding ``now``."""
    k = math.floor(now.timestamp() / interval)
    return datetime.fromtimestamp(k * interval, UTC), datetime.fromtimestamp(
        (k + 1) * interval, UTC
    )


def replica_id() -> str:
    """Who holds a lease: host, process and a random suffix (a restarted process
    with the same pid is another holder)."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class JobRunner:
    def __init__(
        self,
        db: Database,
        audit: AuditSink,
        holder: str | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._db, self._audit, self._clock = db, audit, clock
        self.holder = holder or replica_id()
        self.jobs: dict[str, Job] = {}
        self._next: dict[str, datetime] = {}  # when each job may next be due, as last read

    def register(
        self,
        name: str,
        run_once: JobFn,
        interval_seconds: float,
        lease_seconds: float | None = None,
    ) -> None:
        """``lease_seconds``: how long a run may take before another replica may
        assume its holder died and run the period again (default: the interval,
        within 60 s to 10 min)."""
        if name in self.jobs:
            raise ValueError(f"job {name!r} is registered twice")
        if interval_seconds <= 0:
            raise ValueError("a job's interval must be positive")
        lease = (
            lease_seconds if lease_seconds is not None else min(max(60.0, interval_seconds), 600.0)
        )
        self.jobs[name] = Job(name, run_once, interval_seconds, lease)

    async def run_due(self) -> dict[str, int]:
        """One pass: run every job that is due and whose lease this replica wins.
        Returns {job: count} of the jobs this replica ran."""
        ran: dict[str, int] = {}
        for job in list(self.jobs.values()):
            now = self._clock()
            if self._next.get(job.name, now) > now:
                continue  # known not to be due yet: no write to find that out
            count = await self._try(job, now)
            if count is not None:
                ran[job.name] = count
            if self._next.get(job.name, now) > now:
                continue  # it failed: this replica backs off (others may try)
            # One read: when to knock next (at the latest MAX_SLEEP from now, so a
            # lease released early, or a period moved by another replica, is seen).
            due = await cluster.next_due(self._db, job.name) or now
            self._next[job.name] = min(due, now + timedelta(seconds=MAX_SLEEP))
        return ran

    async def _try(self, job: Job, now: datetime) -> int | None:
        claimed = await cluster.claim_job(
            self._db, job.name, self.holder, now, timedelta(seconds=job.lease)
        )
        if claimed is None:
            return None
        start, end = period_of(now, job.interval)
        try:
            count = await job.run_once(now)
        except Exception as exc:
            log.error("job_failed", job=job.name, error_type=type(exc).__name__)
            # Back off here (a failing job must not spin), let any replica try.
            self._next[job.name] = now + timedelta(seconds=min(job.interval, MAX_SLEEP))
            await cluster.release_job(self._db, job.name, self.holder)
            await self._audit.append(self._event(job, start, None, Outcome.FAILURE))
            return None
        async with self._db.transaction() as s:
            if await cluster.finish_job(s, job.name, self.holder, claimed, end):
                self._audit.record_in(s, self._event(job, start, count, Outcome.SUCCESS))
            else:  # our lease lapsed: whoever took the period over records it
                log.warning("job_lease_lost", job=job.name)
        if count:
            log.info("job_ran", job=job.name, count=count)
        return count

    def _event(self, job: Job, start: datetime, count: int | None, outcome: Outcome) -> AuditEvent:
        actor = Actor(ACTOR, "-", f"job-{uuid.uuid4().hex[:16]}", None)
        detail = {"job": job.name, "period": start.isoformat(), "replica": self.holder}
        return AuditEvent(actor, JobAction.RUN, outcome, job.name, count, detail)

    def sleep_time(self) -> float:
        """Until the earliest job may be due again (at most MAX_SLEEP), with jitter so
        replicas do not all knock at once."""
        now = self._clock()
        if any(name not in self._next for name in self.jobs):
            return 0.0
        waits = [(t - now).total_seconds() for t in self._next.values()]
        wait = max(0.0, min([MAX_SLEEP, *waits]))
        return wait + random.uniform(0.0, min(0.2, wait / 4 + 0.05))  # noqa: S311 (jitter)

    async def run(self) -> None:
        """Forever: run what is due, sleep until the next job may be. Errors (the
        database away) are logged and retried on the next poll."""
        while True:
            try:
                await self.run_due()
                wait = self.sleep_time()
            except Exception as exc:
                log.error("jobs_pass_failed", error_type=type(exc).__name__)
                wait = MAX_SLEEP
            await asyncio.sleep(wait)
