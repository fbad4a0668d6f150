"""What auditing costs: two Strongroom processes on one PostgreSQL under load, with
the real audit trail versus a null audit sink (a benchmark double), then
``strongroom audit verify`` over the merged trail of the audited run.

Usage: .venv/bin/python bench/audit_overhead.py [--duration 8] [--conns 8]

Not a test. Each mode gets a fresh database; both processes are started with
``uvicorn --factory`` (audited: ``strongroom.api.app:app_from_env``; null:
``srbench.nullaudit:create``), one worker each, and driven at the same time by one
wrk per process. Workloads: single-item encrypt and single-item decrypt (one audit
record per request: the worst case for auditing). Prints requests/s per mode, the
ratio, and the verify result with its duration.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

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


def run_mode(mode: str, url: str, args: argparse.Namespace) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix=f"bench-audit-{mode}-"))
    env = env_for(url, tmp)
    cli(env, "migrate")
    key = cli(env, "access-keys", "create", "--role", "admin").strip().splitlines()[-1]
    servers = []
    try:
        for n in range(2):
            port = procs.free_port()
            argv = [sys.executable, "-m", "uvicorn", "--factory", FACTORIES[mode]]
            argv += ["--port", str(port), "--log-level", "warning", "--no-access-log"]
            proc = procs.start(argv, env, tmp, f"{mode}-{n}")
            procs.wait_http(f"http://127.0.0.1:{port}/healthz", proc, tmp / f"{mode}-{n}.err")
            servers.append((port, proc))
        base = f"http://127.0.0.1:{servers[0][0]}"
        headers = {"X-API-Key": key}
        r = httpx.post(f"{base}/api/v1/keys", json={"userId": "bench"}, headers=headers)
        r.raise_for_status()
        item = payloads.items(1)
        enc = httpx.post(
            f"{base}/api/v1/encrypt", json={"userId": "bench", "data": item}, headers=headers
        )
        enc.raise_for_status()
        bodies = {
            "encrypt": payloads.write_body(tmp, "enc", payloads.strongroom_body("bench", item)),
            "decrypt": payloads.write_body(
                tmp, "dec", payloads.strongroom_body("bench", enc.json()["encryptedData"])
            ),
        }
        cfg = wrkrun.WrkConfig(duration=args.duration, threads=1, connections=args.conns)
        out: dict[str, Any] = {}
        for op, body in bodies.items():
            urls = [f"http://127.0.0.1:{port}/api/v1/{op}" for port, _ in servers]
            with ThreadPoolExecutor(2) as pool:
                futures = [pool.submit(wrkrun.run, cfg, u, body, headers) for u in urls]
                runs = [f.result() for f in futures]
            bad = sum(r.non200 + r.socket_errors for r in runs)
            out[op] = {
                "rps": sum(r.rps for r in runs),
                "p99_ms": max(r.p99_ms for r in runs),
                "bad": bad,
            }
    finally:
        for _, proc in servers:
            procs.stop(proc)
    if mode == "audited":
        t0 = time.perf_counter()
        verify = subprocess.run(
            [CLI, "audit", "verify", "--json"], env=env, capture_output=True, text=True, check=False
        )
        out["verify_s"] = time.perf_counter() - t0
        out["verify_rc"] = verify.returncode
        out["verify"] = verify.stdout.strip()[-400:]
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--duration", type=float, default=8.0)
    p.add_argument("--conns", type=int, default=8, help="connections per wrk (one per server)")
    args = p.parse_args(argv)
    pg = start_postgres()
    try:
        results = {mode: run_mode(mode, pg.create_database(), args) for mode in ("null", "audited")}
    finally:
        pg.stop()
    print("\n2 processes x 1 worker, one PostgreSQL, 1-item requests, wrk -t1 per process")
    print(f"{'op':<10}{'null rps':>12}{'audited rps':>14}{'audited/null':>14}{'cost':>8}")
    for op in ("encrypt", "decrypt"):
        n, a = results["null"][op], results["audited"][op]
        ratio = a["rps"] / n["rps"] if n["rps"] else 0.0
        flag = "" if not (n["bad"] or a["bad"]) else "  (non-200 or socket errors!)"
        print(f"{op:<10}{n['rps']:>12.0f}{a['rps']:>14.0f}{ratio:>14.2f}{1 - ratio:>8.1%}{flag}")
    audited = results["audited"]
    print(f"audit verify: exit {audited['verify_rc']} in {audited['verify_s']:.1f} s")
    print(audited["verify"])
    print(json.dumps(results, indent=1), file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
