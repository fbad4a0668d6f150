"""Replica benchmark (issue #19): throughput with 1, 2 and 3 ``strongroom serve``
replicas on one PostgreSQL (durable settings) + Redis, and what each request costs
the shared services: PostgreSQL transactions and rows written, Redis commands.

Usage: .venv/bin/python bench/replicas.py [--replicas 1,2,3] [--duration 8]
           [--conns 48] [--op encrypt|decrypt]

Not a test. ON A 2-CORE MACHINE THIS MEASURES OVERHEAD, NOT SCALING: the replicas,
PostgreSQL, Redis and wrk share two cores, so more replicas cannot mean more
throughput here; the per-request operation counts are what carry over to a real
fleet (docs/deploy.md, "Scaling model"). Load is balanced by the client (one wrk per
replica, the connections split evenly), so no load balancer's cost is in the figures.

Counts per request: PostgreSQL write transactions (transaction ids assigned) and
audit records, exactly; commits and rows fetched from ``pg_stat_database``, which
backends report lazily (marked ``~``: approximate); Redis calls per command from
``INFO commandstats``. Rate limits are on (as in production) with budgets no run
here can reach.
Results: printed, and bench/results/replicas-latest.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(HERE), str(ROOT), str(ROOT / "src")]

import httpx  # noqa: E402
from redis import Redis  # noqa: E402
from srbench import postgres, wrkrun  # noqa: E402
from tests.cluster import Replica, replica_env, start_replicas  # noqa: E402
from tests.services import PostgresServer, RedisServer, start_redis  # noqa: E402

from strongroom.config import Settings  # noqa: E402
from strongroom.kms.local import create_master_key_file  # noqa: E402
from strongroom.services.container import build_services  # noqa: E402
from strongroom.store.db import Database  # noqa: E402
from strongroom.store.migrate import upgrade  # noqa: E402
from strongroom.store.tenancy import enter_system_scope  # noqa: E402

RESULTS = HERE / "results" / "replicas-latest.json"
USERS = 16
ITEM = "x" * 64
STATS_DELAY_S = 1.5  # pg_stat_database lags by up to a second


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--replicas", default="1,2,3")
    p.add_argument("--duration", type=float, default=8.0, help="seconds per wrk run")
    p.add_argument("--conns", type=int, default=48, help="connections, split over replicas")
    p.add_argument("--op", choices=("encrypt", "decrypt"), default="encrypt")
    return p.parse_args(argv)


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def pg_counters(pg: PostgresServer, db: str) -> dict[str, int]:
    """Exact: write transactions (transaction ids assigned; read-only ones get none)
    and audit records. Approximate (``pg_stat_*``, which backends report lazily, up to
    seconds late): commits, rows fetched, rows inserted per table."""
    exact = pg.psql(
        "SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint, "
        "(SELECT count(*) FROM audit_records)",
        dbname=db,
    )
    xid, audit = (int(v) for v in exact.strip().split("|"))
    out = {"write_transactions": xid, "audit_records": audit}
    cols = "xact_commit, tup_fetched"
    row = pg.psql(f"SELECT {cols} FROM pg_stat_database WHERE datname = '{db}'", dbname=db)
    values = [int(v) for v in row.strip().split("|")]
    out |= {f"~{k}": v for k, v in zip(cols.split(", "), values, strict=True)}
    return out


def redis_counters(r: Redis) -> dict[str, int]:
    stats = r.info("commandstats")
    return {k.removeprefix("cmdstat_"): int(v["calls"]) for k, v in stats.items()}


# Commands that run inside Strongroom's Lua scripts (rate-limit buckets, shared
# counters): counted by INFO commandstats, but no round trip of their own.
IN_SCRIPTS = {"hmget", "hset", "expire", "time", "sismember", "scard", "sadd", "ttl", "incr"}


def round_trips(per_command: dict[str, float]) -> float:
    return round(sum(v for k, v in per_command.items() if k not in IN_SCRIPTS), 3)


def delta(after: dict[str, int], before: dict[str, int], per: int) -> dict[str, float]:
    keys = sorted(set(after) | set(before))
    out = {k: (after.get(k, 0) - before.get(k, 0)) / per for k in keys}
    return {k: round(v, 3) for k, v in out.items() if v}


async def prepare(url: str, key_file: Path) -> str:
    """Schema, then the first admin key (as `strongroom access-keys create` would)."""
    enter_system_scope()
    db = Database(url)
    await upgrade(db, app_role="strongroom_app")  # the serving role: exactly its grants
    await db.dispose()
    svc = build_services(Settings(database_url=url, master_key_file=key_file))
    await svc.start()
    _, key = await svc.access.create("default", ["admin"], "replica benchmark")
    await svc.close()
    return key


def body_for(op: str, base: str, admin: str, tmp: Path) -> Path:
    """The one request body wrk repeats: a single 64-byte item."""
    headers = {"X-API-Key": admin}
    with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
        for i in range(USERS):
            client.post("/api/v1/keys", json={"userId": f"bench{i}"})
        body: dict[str, Any] = {"userId": "bench0", "data": [ITEM]}
        if op == "decrypt":
            r = client.post("/api/v1/encrypt", json=body)
            body = {"userId": "bench0", "data": r.json()["encryptedData"]}
    path = tmp / f"{op}.json"
    path.write_text(json.dumps(body))
    return path


def run_count(
    n: int, args: argparse.Namespace, tmp: Path, env: dict[str, str], admin: str, stores: Any
) -> dict[str, Any]:
    pg, dbname, redis = stores
    replicas: list[Replica] = start_replicas(tmp, n, env)
    try:
        path = f"/api/v1/{args.op}"
        body = body_for(args.op, replicas[0].url, admin, tmp)
        per = max(1, args.conns // n)
        cfg = wrkrun.WrkConfig(duration=args.duration, threads=1, connections=per)
        time.sleep(STATS_DELAY_S)
        pg0, r0 = pg_counters(pg, dbname), redis_counters(redis)
        with ThreadPoolExecutor(n) as pool:
            runs = list(
                pool.map(
                    lambda r: wrkrun.run(cfg, r.url + path, body, {"X-API-Key": admin}),
                    replicas,
                )
            )
        time.sleep(STATS_DELAY_S)
        pg1, r1 = pg_counters(pg, dbname), redis_counters(redis)
    finally:
        for r in replicas:
            r.stop()
    requests = sum(w.requests for w in runs)
    return {
        "replicas": n,
        "connections": per * n,
        "requests": requests,
        "rps": round(sum(w.rps for w in runs), 1),
        "p50_ms": max(w.p50_ms for w in runs),
        "p99_ms": max(w.p99_ms for w in runs),
        "non200": sum(w.non200 for w in runs),
        "socket_errors": sum(w.socket_errors for w in runs),
        "postgres_per_request": delta(pg1, pg0, requests),
        "redis_per_request": (redis_calls := delta(r1, r0, requests)),
        "redis_round_trips_per_request": round_trips(redis_calls),
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    counts = sorted({int(x) for x in args.replicas.split(",")})
    log("2 cores: replicas, PostgreSQL, Redis and wrk share them; this measures overhead")
    pg = postgres.start()
    redis_server: RedisServer = start_redis()
    try:
        with tempfile.TemporaryDirectory(prefix="sr-replicas-") as tmpdir:
            tmp = Path(tmpdir)
            owner_url = pg.create_database()
            dbname = owner_url.rsplit("/", 1)[1]
            create_master_key_file(tmp / "strongroom.key")
            admin = asyncio.run(prepare(owner_url, tmp / "strongroom.key"))
            # Serve as the unprivileged role, as production does (row-level security).
            env = replica_env(
                tmp,
                pg.app_role_url(dbname),
                redis_server.url,
                # Rate limits on, as in production (one Redis script per check), but
                # far above what this machine can send.
                STRONGROOM_RATE_LIMIT_REQUESTS_PER_MINUTE="100000000",
                STRONGROOM_RATE_LIMIT_ITEMS_PER_MINUTE="100000000",
                STRONGROOM_SCHEDULER_INTERVAL_SECONDS="60",
            )
            redis = Redis.from_url(redis_server.url)
            results = []
            for n in counts:
                log(f"{n} replica(s), {args.op}, {args.duration:g}s ...")
                results.append(run_count(n, args, tmp, env, admin, (pg, dbname, redis)))
                row = results[-1]
                pgr = row["postgres_per_request"]
                log(
                    f"  {row['rps']:.0f} req/s p50 {row['p50_ms']:.1f} ms "
                    f"p99 {row['p99_ms']:.1f} ms non-200 {row['non200']}; per request: "
                    f"{pgr.get('write_transactions', 0)} PG write transactions, "
                    f"{pgr.get('audit_records', 0)} audit records, "
                    f"{row['redis_round_trips_per_request']} Redis round trips"
                )
            redis.close()
    finally:
        redis_server.stop()
        pg.stop()
    report = {"op": args.op, "duration_s": args.duration, "cores": 2, "runs": results}
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
