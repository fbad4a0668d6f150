"""The two modes of bench/audit_overhead.py (audited, null audit sink) and what one
measured slice of driving them records: throughput, CPU per request of each party,
PostgreSQL commits (records per commit = the audit writer's group size), and the
share of the machine taken by processes that are not part of the run.

CPU is read from /proc (Linux only): the two server processes, every process of the
PostgreSQL cluster (postmaster and its children), and wrk (reaped children of this
process). CPU per request is the steadier figure on a shared VM: throughput moves
with steal time and neighbours, the work a request costs does not.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from srbench import cpu, payloads, procs, wrkrun

FACTORIES = {"audited": "strongroom.api.app:app_from_env", "null": "srbench.nullaudit:create"}
CLI = str(Path(sys.executable).parent / "strongroom")
HERE = Path(__file__).resolve().parent.parent


def env_for(url: str, tmp: Path) -> dict[str, str]:
    return {
        **os.environ,
        "STRONGROOM_DATABASE_URL": url,
        "STRONGROOM_MASTER_KEY_FILE": str(tmp / "strongroom.key"),
        "STRONGROOM_SCHEDULER_ENABLED": "false",
        "STRONGROOM_LOG_LEVEL": "ERROR",
        "STRONGROOM_RATE_LIMIT_REQUESTS_PER_MINUTE": "1000000000",
        "STRONGROOM_RATE_LIMIT_ITEMS_PER_MINUTE": "1000000000",
        "STRONGROOM_SECURITY_BULK_MIN_USERS": "1000000",
        "PYTHONPATH": os.pathsep.join([str(HERE), str(HERE.parent / "src")]),
    }


def cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([CLI, *args], env=env, capture_output=True, text=True, check=True)
    return done.stdout


@dataclass(frozen=True)
class Slice:
    """One drive of one mode: both servers at once, one wrk each."""

    rps: float
    requests: int
    bad: int  # non-200 responses and socket errors
    server_us: float  # CPU microseconds per request: the two server processes
    pg_us: float  # ... every PostgreSQL process
    wrk_us: float  # ... the two wrk processes
    other_pct: float  # share of all cores used by processes outside the run
    commits: int  # transactions committed in this mode's database
    p50_ms: float  # the two wrk runs' median latencies, averaged
    p99_ms: float  # the higher of the two wrk runs' p99 latencies

    @property
    def total_us(self) -> float:
        return self.server_us + self.pg_us + self.wrk_us


@dataclass
class Mode:
    """Two server processes of one mode on their own database, ready to drive."""

    name: str
    env: dict[str, str]
    key: str
    bodies: dict[str, Path]
    commits: Callable[[], int]
    servers: list[tuple[int, subprocess.Popen[bytes]]] = field(default_factory=list)

    def drive(self, op: str, conns: int, duration: float, pg_pid: int) -> Slice:
        cfg = wrkrun.WrkConfig(duration=duration, threads=1, connections=conns)
        urls = [f"http://127.0.0.1:{port}/api/v1/{op}" for port, _ in self.servers]
        headers = {"X-API-Key": self.key}
        pids = [proc.pid for _, proc in self.servers]
        c0, before, pg0 = self.commits(), cpu.snapshot(None), _tree_cpu(pg_pid)
        srv0 = sum(_tree_cpu(p) for p in pids)
        with ThreadPoolExecutor(2) as pool:
            futures = [pool.submit(wrkrun.run, cfg, u, self.bodies[op], headers) for u in urls]
            runs = [f.result() for f in futures]
        srv = sum(_tree_cpu(p) for p in pids) - srv0
        after, pg = cpu.snapshot(None), _tree_cpu(pg_pid) - pg0
        commits = self.commits() - c0
        n = max(1, sum(r.requests for r in runs))
        wrk = after.children - before.children
        wall = max(after.wall - before.wall, 1e-9)
        own = srv + pg + wrk + (after.own - before.own)
        other = max(0.0, (after.busy - before.busy) - own)
        return Slice(
            rps=sum(r.rps for r in runs),
            requests=n,
            bad=sum(r.non200 + r.socket_errors for r in runs),
            server_us=srv / n * 1e6,
            pg_us=pg / n * 1e6,
            wrk_us=wrk / n * 1e6,
            other_pct=100.0 * other / (wall * (os.cpu_count() or 1)),
            commits=commits,
            p50_ms=sum(r.p50_ms for r in runs) / len(runs),
            p99_ms=max(r.p99_ms for r in runs),
        )

    def stop(self) -> None:
        for _, proc in self.servers:
            procs.stop(proc)


def _tree_cpu(pid: int) -> float:
    """CPU-seconds of ``pid`` and its direct children (PostgreSQL's backends)."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            rest = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(stat.parent.name) == pid or int(rest[1]) == pid:
            total += int(rest[11]) + int(rest[12])
    return total / os.sysconf("SC_CLK_TCK")


def start_mode(name: str, url: str, commits: Callable[[], int]) -> Mode:
    tmp = Path(tempfile.mkdtemp(prefix=f"bench-audit-{name}-"))
    env = env_for(url, tmp)
    cli(env, "migrate")
    key = cli(env, "access-keys", "create", "--role", "admin").strip().splitlines()[-1]
    mode = Mode(name, env, key, {}, commits)
    for n in range(2):
        port = procs.free_port()
        argv = [sys.executable, "-m", "uvicorn", "--factory", FACTORIES[name]]
        argv += ["--port", str(port), "--log-level", "warning", "--no-access-log"]
        proc = procs.start(argv, env, tmp, f"{name}-{n}")
        mode.servers.append((port, proc))
        procs.wait_http(f"http://127.0.0.1:{port}/healthz", proc, tmp / f"{name}-{n}.err")
    base, headers = f"http://127.0.0.1:{mode.servers[0][0]}", {"X-API-Key": key}
    httpx.post(f"{base}/api/v1/keys", json={"userId": "bench"}, headers=headers).raise_for_status()
    item = payloads.items(1)
    enc = httpx.post(
        f"{base}/api/v1/encrypt", json={"userId": "bench", "data": item}, headers=headers
    )
    enc.raise_for_status()
    cts = enc.json()["encryptedData"]
    mode.bodies = {
        "encrypt": payloads.write_body(tmp, "enc", payloads.strongroom_body("bench", item)),
        "decrypt": payloads.write_body(tmp, "dec", payloads.strongroom_body("bench", cts)),
    }
    return mode
