"""What auditing costs: two Strongroom processes on one PostgreSQL under load, with
the real audit trail versus a null audit sink (a benchmark double), then
``strongroom audit verify`` over the merged trail of the audited run.

Usage: .venv/bin/python bench/audit_overhead.py [--duration 5] [--conns 8,32,64] [--rounds 2]

Not a test. Each mode gets a fresh database; all four processes run at once and
the modes are driven in alternation, so both see the same machine. Processes are
started with
``uvicorn --factory`` (audited: ``strongroom.api.app:app_from_env``; null:
``srbench.nullaudit:create``), one worker each, and driven at the same time by one
wrk per process. Workloads: single-item encrypt and single-item decrypt (one audit
record per request: the worst case for auditing), at each connection count. An
audited request waits for its group commit, so at low concurrency it is
latency-bound while the null sink is CPU-bound: the headline compares each mode's
peak throughput over the connection counts. Prints requests/s per mode and
connection count, the peak ratio, and the verify result with its duration.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(HERE), str(ROOT), str(ROOT / "src")]

from srbench import payloads, procs, wrkrun  # noqa: E402
from tests.services import start_postgres  # noqa: E402

FACTORIES = {"audited": "strongroom.api.app:app_from_env", "null": "srbench.nullaudit:create"}
CLI = str(Path(sys.executable).parent / "strongroom")


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
        "PYTHONPATH": os.pathsep.join([str(HERE), str(ROOT / "src")]),
    }


def cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([CLI, *args], env=env, capture_output=True, text=True, check=True)
    return done.stdout


@dataclass
class Mode:
    """Two server processes of one mode on their own database, ready to drive."""

    name: str
    env: dict[str, str]
    key: str
    bodies: dict[str, Path]
    servers: list[tuple[int, subprocess.Popen[bytes]]] = field(default_factory=list)

    def drive(self, op: str, conns: int, duration: float) -> dict[str, float]:
        """One wrk per server at once; summed requests/s."""
        cfg = wrkrun.WrkConfig(duration=duration, threads=1, connections=conns)
        urls = [f"http://127.0.0.1:{port}/api/v1/{op}" for port, _ in self.servers]
        headers = {"X-API-Key": self.key}
        with ThreadPoolExecutor(2) as pool:
            futures = [pool.submit(wrkrun.run, cfg, u, self.bodies[op], headers) for u in urls]
            runs = [f.result() for f in futures]
        bad = sum(r.non200 + r.socket_errors for r in runs)
        return {"rps": sum(r.rps for r in runs), "bad": float(bad)}

    def stop(self) -> None:
        for _, proc in self.servers:
            procs.stop(proc)


def start_mode(name: str, url: str) -> Mode:
    tmp = Path(tempfile.mkdtemp(prefix=f"bench-audit-{name}-"))
    env = env_for(url, tmp)
    cli(env, "migrate")
    key = cli(env, "access-keys", "create", "--role", "admin").strip().splitlines()[-1]
    mode = Mode(name, env, key, {})
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


def verify_trail(env: dict[str, str]) -> tuple[int, float, str]:
    t0 = time.perf_counter()
    done = subprocess.run(
        [CLI, "audit", "verify", "--json"], env=env, capture_output=True, text=True, check=False
    )
    return done.returncode, time.perf_counter() - t0, done.stdout.strip()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--duration", type=float, default=5.0)
    p.add_argument(
        "--conns",
        type=lambda v: [int(x) for x in v.split(",")],
        default=[8, 32, 64],
        help="connections per wrk (one wrk per server), comma-separated",
    )
    p.add_argument("--rounds", type=int, default=2, help="alternating null/audited rounds")
    args = p.parse_args(argv)
    pg = start_postgres()
    modes: dict[str, Mode] = {}
    best: dict[tuple[str, str, int], float] = {}
    bad = 0.0
    try:
        for name in ("null", "audited"):
            modes[name] = start_mode(name, pg.create_database())
        # Interleaved: both modes see the same machine, round after round.
        for _ in range(args.rounds):
            for conns in args.conns:
                for op in ("encrypt", "decrypt"):
                    for name, mode in modes.items():
                        r = mode.drive(op, conns, args.duration)
                        bad += r["bad"]
                        key = (name, op, conns)
                        best[key] = max(best.get(key, 0.0), r["rps"])
        for mode in modes.values():
            mode.stop()
        rc, seconds, report = verify_trail(modes["audited"].env)
    finally:
        for mode in modes.values():
            mode.stop()
        pg.stop()
    print("\n2 processes x 1 worker each, one PostgreSQL, 1-item requests, wrk -t1 per process;")
    print(
        f"best of {args.rounds} interleaved rounds of {args.duration:g} s"
        + (f"  ({bad:.0f} non-200 or socket errors!)" if bad else "")
    )
    print(f"{'op':<9}{'conns':>6}{'null rps':>10}{'audited rps':>13}{'audited/null':>14}")
    for op in ("encrypt", "decrypt"):
        for conns in args.conns:
            n, a = best[("null", op, conns)], best[("audited", op, conns)]
            print(f"{op:<9}{conns:>6}{n:>10.0f}{a:>13.0f}{a / n:>14.2f}")
    for op in ("encrypt", "decrypt"):
        peak = {m: max(best[(m, op, c)] for c in args.conns) for m in modes}
        cost = 1 - peak["audited"] / peak["null"]
        print(
            f"{op} peak: null {peak['null']:.0f}, audited {peak['audited']:.0f} rps: "
            f"auditing costs {cost:.1%} of peak throughput"
        )
    print(f"audit verify of the audited run's merged trail: exit {rc} in {seconds:.1f} s")
    print(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
