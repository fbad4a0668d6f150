"""Three replicas act as one (issue #19): three ``strongroom serve`` processes on one
PostgreSQL + Redis behind a load balancer (tests/cluster.py), as deploy/compose.yaml
runs them. One test, one cluster (starting three servers is most of its cost):

1. guesses spread over replicas add up: 3 bad keys at each of two replicas raise
   ``auth.failures`` once;
2. a rate limit is one budget across the replicas (Redis);
3. a rotation, a revocation and a scheduled deletion made through one replica take
   effect on the others within their documented windows (key changes: change feed
   interval + max staleness; access keys: ``access_key_cache_ttl_seconds``), and the
   deletion's destruction happens once;
4. a replica killed with SIGKILL under write load loses no acknowledged write, and
   clients see only retryable errors (connection reset, 503);
5. every scheduled job ran exactly once per period (counted from the audit trail:
   one ``job.run`` record per job and period).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis
from sqlalchemy import select

from strongroom.audit.actions import JobAction, KeyAction, SecurityAction
from strongroom.config import Settings
from strongroom.kms.local import create_master_key_file
from strongroom.services.container import build_services
from strongroom.store.db import Database
from strongroom.store.models import AuditRecord, AuditSegment
from strongroom.store.tenancy import enter_system_scope
from tests.cluster import LoadBalancer, Replica, replica_env, start_replicas
from tests.services import PostgresServer, RedisServer

pytestmark = [pytest.mark.postgres, pytest.mark.services, pytest.mark.slow]

FEED_INTERVAL, FEED_STALENESS = 0.5, 1.5
KEY_WINDOW = FEED_INTERVAL + FEED_STALENESS  # docs/caching: key changes everywhere within
ACCESS_KEY_TTL = 2.0  # access-key rows cached this long: the revocation window
SLACK = 1.0  # scheduling noise on a loaded 2-core machine
JOB_INTERVAL = 1.0
RATE = 12  # requests per minute of the encrypt-only role: one budget, not one per replica
ATTACKER = "198.51.100.7"  # via X-Forwarded-For (the replicas trust 127.0.0.1)
REDIS_DB = 11  # a database of its own on the session's Redis


@dataclass
class Cluster:
    replicas: list[Replica]
    lb: LoadBalancer
    admin: str
    owner_db: Database  # the superuser's view, for reading the audit trail

    def client(self, base: str, key: str | None = None, **kw: Any) -> httpx.AsyncClient:
        headers = {"X-API-Key": key or self.admin}
        return httpx.AsyncClient(base_url=base, headers=headers, timeout=10.0, **kw)

    async def records(self, action: str) -> list[AuditRecord]:
        async with self.owner_db.read() as s:
            q = select(AuditRecord).where(AuditRecord.action == action)
            return list((await s.execute(q)).scalars().all())


@pytest.fixture
async def cluster(
    postgres_server: PostgresServer,
    postgres_template: str,
    redis_server: RedisServer,
    tmp_path: Path,
) -> AsyncIterator[Cluster]:
    owner_url = postgres_server.create_database(template=postgres_template)
    app_url = postgres_server.app_role_url(owner_url.rsplit("/", 1)[1])
    redis_url = redis_server.url.rsplit("/", 1)[0] + f"/{REDIS_DB}"
    redis = Redis.from_url(redis_url)
    await redis.flushdb()
    await redis.aclose()
    create_master_key_file(tmp_path / "strongroom.key")
    env = replica_env(
        tmp_path,
        app_url,
        redis_url,
        STRONGROOM_SCHEDULER_INTERVAL_SECONDS=str(JOB_INTERVAL),
        STRONGROOM_KEY_FEED_INTERVAL_SECONDS=str(FEED_INTERVAL),
        STRONGROOM_KEY_FEED_MAX_STALENESS_SECONDS=str(FEED_STALENESS),
        STRONGROOM_ACCESS_KEY_CACHE_TTL_SECONDS=str(ACCESS_KEY_TTL),
        STRONGROOM_MIN_DELETION_WINDOW_DAYS="0",
        STRONGROOM_TRUSTED_PROXIES='["127.0.0.1"]',
        STRONGROOM_RATE_LIMIT_ROLE_REQUESTS_PER_MINUTE=f'{{"encrypt-only": {RATE}}}',
    )
    # The first admin key, made as an operator would (`strongroom access-keys create`).
    enter_system_scope()
    svc = build_services(
        Settings(database_url=app_url, master_key_file=tmp_path / "strongroom.key")
    )
    await svc.start()
    _, admin = await svc.access.create("default", ["admin"], "cluster test admin")
    await svc.close()
    replicas = start_replicas(tmp_path, 3, env)
    lb = LoadBalancer([("127.0.0.1", r.port) for r in replicas]).start()
    owner_db = Database(owner_url)
    try:
        yield Cluster(replicas, lb, admin, owner_db)
    finally:
        lb.stop()
        for r in replicas:
            r.stop()
        await owner_db.dispose()


MEASURED: dict[str, object] = {}  # printed at the end (pytest -s): the report's figures


async def within(
    window: float, check: Callable[[], Awaitable[bool]], name: str | None = None
) -> float:
    """Poll ``check`` until true; returns how long it took (fails past the window)."""
    start = time.monotonic()
    while not await check():
        elapsed = time.monotonic() - start
        assert elapsed <= window + SLACK, f"{name or 'change'}: not in effect after {elapsed:.2f}s"
        await asyncio.sleep(0.05)
    took = time.monotonic() - start
    if name:
        MEASURED[name] = max(float(MEASURED.get(name, 0.0)), round(took, 3))  # type: ignore[arg-type]
    return took


async def test_three_replicas_act_as_one(cluster: Cluster) -> None:
    started = time.monotonic()
    a, b, c = (cluster.client(r.url) for r in cluster.replicas)
    try:
        await guesses_add_up(cluster)
        await one_rate_limit(cluster, [a, b, c])
        await changes_reach_every_replica(cluster, a, [b, c])
        await no_acknowledged_write_is_lost(cluster)
        await each_job_once_per_period(cluster, time.monotonic() - started)
        print(f"\nthree replicas: {MEASURED}")
    finally:
        for client in (a, b, c):
            await client.aclose()


async def guesses_add_up(cluster: Cluster) -> None:
    bad = "srk_live_" + "a" * 90
    for replica in cluster.replicas[:2]:
        async with cluster.client(replica.url, bad) as client:
            for _ in range(3):
                r = await client.get("/api/v1/keys/x", headers={"X-Forwarded-For": ATTACKER})
                assert r.status_code == 401

    async def raised_once() -> bool:
        found = await cluster.records(SecurityAction.AUTH_FAILURES.value)
        return [r.target for r in found].count(f"addr:{ATTACKER}") == 1

    await within(2.0, raised_once)


async def one_rate_limit(cluster: Cluster, admins: list[httpx.AsyncClient]) -> None:
    r = await admins[0].post("/api/v1/keys", json={"userId": "limited"})
    assert r.status_code in (200, 201), r.text
    made = await admins[0].post("/api/v1/access-keys", json={"roles": ["encrypt-only"]})
    key = made.json()["key"]
    statuses: Counter[int] = Counter()
    clients = [cluster.client(rep.url, key) for rep in cluster.replicas]
    try:
        for i in range(RATE + 6):  # round robin: RATE + 6 at one budget of RATE
            r = await clients[i % 3].post(
                "/api/v1/encrypt", json={"userId": "limited", "data": ["x"]}
            )
            statuses[r.status_code] += 1
    finally:
        for client in clients:
            await client.aclose()
    # Per replica the budget would have allowed all of them (RATE each); shared, a few
    # tokens at most come back while the requests run (RATE per minute).
    assert statuses[429] >= 3 and statuses[200] <= RATE + 3, statuses
    MEASURED["rate_limit"] = dict(statuses)


async def changes_reach_every_replica(
    cluster: Cluster, origin: httpx.AsyncClient, others: list[httpx.AsyncClient]
) -> None:
    for user in ("rot", "del"):
        r = await origin.post("/api/v1/keys", json={"userId": user})
        assert r.status_code in (200, 201), r.text
    made = (await origin.post("/api/v1/access-keys", json={"roles": ["encrypt-only"]})).json()

    async def encrypt(
        client: httpx.AsyncClient, user: str, key: str | None = None
    ) -> httpx.Response:
        headers = {"X-API-Key": key} if key else {}
        body = {"userId": user, "data": ["x"]}
        return await client.post("/api/v1/encrypt", json=body, headers=headers)

    for other in others:  # warm every cache: key metadata, public keys, access-key rows
        for user in ("rot", "del"):
            assert (await encrypt(other, user)).json()["encryptedData"][0].startswith("sr:v1:")
        assert (await encrypt(other, "rot", made["key"])).status_code == 200

    # Rotation: the others encrypt under version 2 within the window.
    r = await origin.post("/api/v1/rotate", json={"userId": "rot", "data": []})
    assert r.status_code == 200, r.text
    for other in others:

        async def rotated(client: httpx.AsyncClient = other) -> bool:
            text = str((await encrypt(client, "rot")).json()["encryptedData"][0])
            return text.startswith("sr:v2:")

        await within(KEY_WINDOW, rotated, "rotation_s")

    # Revocation of an access key: refused everywhere within the cache TTL.
    revoked = await origin.post(f"/api/v1/access-keys/{made['id']}/revoke")
    assert revoked.status_code == 200, revoked.text
    for other in others:

        async def refused(client: httpx.AsyncClient = other) -> bool:
            return (await encrypt(client, "rot", made["key"])).status_code == 401

        await within(ACCESS_KEY_TTL, refused, "revocation_s")

    # Deletion: disabled everywhere within the window; then the scheduled job
    # destroys it once (whichever replica runs the period).
    r = await origin.post("/api/v1/keys/del/deletion", json={"waitingPeriodDays": 0})
    assert r.status_code == 202, r.text
    for other in others:

        async def disabled(client: httpx.AsyncClient = other) -> bool:
            return (await encrypt(client, "del")).status_code != 200

        await within(KEY_WINDOW, disabled, "deletion_s")

    async def destroyed_once() -> bool:
        found = await cluster.records(KeyAction.DESTROY.value)
        return [r.target for r in found].count("del") == 1

    await within(JOB_INTERVAL * 3, destroyed_once, "destroyed_s")


RETRYABLE = (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError, httpx.ConnectError)


async def read_back(
    lb: httpx.AsyncClient, user: str, slots: asyncio.Semaphore, retried: Counter[str]
) -> httpx.Response:
    """The key's metadata, read fresh from PostgreSQL (``GET /keys/{userId}`` never
    answers from a cache). A 503 / 429, a dropped connection or a timeout says "ask
    again", not "lost", so they are retried, honouring Retry-After, and counted in
    ``retried`` (one CI run saw one non-200 among 231 reads without recording which:
    under a loaded run the survivors shed reads with 503 ``SYS002`` or the balancer
    finds no backend in time). Any other answer is final. ``slots`` keeps the reads
    within the client's connection pool, so none waits past its pool timeout."""
    async with slots:
        for _ in range(5):
            try:
                r = await lb.get(f"/api/v1/keys/{user}")
            except (*RETRYABLE, httpx.TimeoutException) as exc:
                retried[type(exc).__name__] += 1
                await asyncio.sleep(0.2)
                continue
            if r.status_code not in (429, 503):
                return r
            retried[str(r.status_code)] += 1
            await asyncio.sleep(min(float(r.headers.get("Retry-After", "1")), 2.0))
        return await lb.get(f"/api/v1/keys/{user}")


async def writers_by_replica(cluster: Cluster, users: set[str]) -> Counter[int]:
    """Which replica committed each key creation of ``users``, from the audit trail
    (the record commits in the creation's transaction; its segment names the writing
    process): replica index -> count."""
    pids = {r.proc.pid: i for i, r in enumerate(cluster.replicas) if r.proc is not None}
    async with cluster.owner_db.read() as s:
        q = (
            select(AuditRecord.target, AuditSegment.writer)
            .join(AuditSegment, AuditSegment.segment_id == AuditRecord.segment_id)
            .where(AuditRecord.action == KeyAction.CREATE.value, AuditRecord.outcome == "success")
        )
        rows = (await s.execute(q)).all()
    found: Counter[int] = Counter()
    for target, writer in rows:
        if target in users:
            found[pids.get(int(str(writer).rsplit(":", 1)[1]), -1)] += 1
    return found


async def no_acknowledged_write_is_lost(cluster: Cluster) -> None:
    acknowledged: list[str] = []
    outcomes: Counter[str] = Counter()
    stop = asyncio.Event()

    async def writer(n: int, client: httpx.AsyncClient) -> None:
        i = 0
        while not stop.is_set():
            user = f"load-{n}-{i}"
            i += 1
            try:
                r = await client.post("/api/v1/keys", json={"userId": user})
            except RETRYABLE as exc:
                outcomes[type(exc).__name__] += 1
                continue
            outcomes[str(r.status_code)] += 1
            if r.status_code in (200, 201):
                acknowledged.append(user)

    async with cluster.client(cluster.lb.url, limits=httpx.Limits(max_connections=24)) as lb:
        tasks = [asyncio.create_task(writer(n, lb)) for n in range(12)]
        await asyncio.sleep(1.5)
        before = len(acknowledged)
        await asyncio.to_thread(cluster.replicas[2].kill)
        await asyncio.sleep(2.0)
        stop.set()
        await asyncio.gather(*tasks)
        assert before > 0 and len(acknowledged) > before, outcomes  # kept writing
        allowed = {"200", "201", "503", *(e.__name__ for e in RETRYABLE)}
        assert set(outcomes) <= allowed, outcomes
        # Every acknowledged key is there, read through the survivors.
        slots, retried = asyncio.Semaphore(24), Counter[str]()
        async with asyncio.TaskGroup() as tg:
            found = [tg.create_task(read_back(lb, u, slots, retried)) for u in acknowledged]
        missing = [
            (u, t.result().status_code, t.result().text[:200])
            for u, t in zip(acknowledged, found, strict=True)
            if t.result().status_code != 200
        ]
        tails = [r.tail()[-1500:] for r in cluster.replicas[:2]]
        assert not missing, (missing[:5], outcomes, retried, tails)
    # The killed replica had acknowledged writes of its own before it died (else the
    # kill proved nothing), and each acknowledged key was created exactly once.
    by_replica = await writers_by_replica(cluster, set(acknowledged))
    assert by_replica[2] > 0 and sum(by_replica.values()) == len(acknowledged), by_replica
    MEASURED["read_back_retried"] = dict(retried)
    MEASURED["created_by_replica"] = dict(by_replica)
    MEASURED["kill_outcomes"] = dict(outcomes)
    MEASURED["acknowledged"] = len(acknowledged)
    MEASURED["lb_connections"] = list(cluster.lb.connections)


async def each_job_once_per_period(cluster: Cluster, elapsed: float) -> None:
    runs = await cluster.records(JobAction.RUN.value)
    periods: dict[str, Counter[str]] = {}
    for r in runs:
        if r.outcome == "success" and r.detail:
            periods.setdefault(str(r.target), Counter())[str(r.detail["period"])] += 1
    for job in ("keys.rotate_due", "keys.destroy_due", "cluster.purge"):
        assert job in periods, sorted(periods)
        twice = {p: n for p, n in periods[job].items() if n > 1}
        assert not twice, (job, twice)
    # And the periods were not skipped while the cluster ran (the killed replica may
    # have died holding a lease: its job waits for the lease to lapse).
    assert len(periods["keys.rotate_due"]) >= 0.5 * (elapsed / JOB_INTERVAL) - 3, periods
    MEASURED["job_periods"] = {job: len(p) for job, p in periods.items()}
    MEASURED["job_replicas"] = len({str((r.detail or {}).get("replica")) for r in runs})
