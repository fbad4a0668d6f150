"""What auditing costs: two Strongroom processes on one PostgreSQL under load, with
the real audit trail versus a null audit sink (a benchmark double), then
``strongroom audit verify`` over the merged trail of the audited run.

Usage: .venv/bin/python bench/audit_overhead.py [--duration 5] [--conns 16,32,64] [--rounds 5]

Not a test. Each mode gets a fresh database on one PostgreSQL cluster; both modes'
servers run all the time, ``uvicorn --factory`` with one worker each (audited:
``strongroom.api.app:app_from_env``; null: ``srbench.nullaudit:create``), and each
slice drives one mode's two servers at once with one wrk per server. Workloads:
single-item encrypt and single-item decrypt (one audit record per request: the
worst case for auditing), at each connection count.

The machine is a 2-core VM whose throughput swings by +-25 % from one minute to the
next (steal time, neighbours), so single runs are not comparable. Therefore the two
modes are driven back to back for every (round, connections, op), the order
alternating between rounds, and each cell (mode, op, connections) is summarised by
its MEDIAN over the rounds. The headline compares each mode's peak over the
connection counts of those medians (an audited request waits for its group commit,
so it needs more connections to saturate the CPU): cost = 1 - audited / null.
Beside it: the range and median of the per-round peak ratios (how noisy the run
was), and the CPU microseconds each request cost the servers, PostgreSQL and wrk,
the steadier figure: on a saturated machine throughput is cores / CPU per request,
so 1 - null CPU / audited CPU estimates the same cost without the throughput noise.
``rec/commit`` is the audit writer's group size. Raw slices go to
bench/results/audit_overhead.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(HERE), str(ROOT), str(ROOT / "src")]

from srbench.auditmodes import CLI, Mode, Slice, start_mode  # noqa: E402
from tests.services import PostgresServer, start_postgres  # noqa: E402

OPS = ("encrypt", "decrypt")
RAW = HERE / "results" / "audit_overhead.json"
Results = dict[tuple[str, str, int], list[Slice]]  # (mode, op, conns) -> one per round


def verify_trail(env: dict[str, str]) -> tuple[int, float, str]:
    t0 = time.perf_counter()
    done = subprocess.run(
        [CLI, "audit", "verify", "--json"], env=env, capture_output=True, text=True, check=False
    )
    return done.returncode, time.perf_counter() - t0, done.stdout.strip()


def commits_of(pg: PostgresServer, url: str) -> Callable[[], int]:
    """Transactions committed in one database so far (backends report them at most
    once a second: a slice's count is that much blurred at each end)."""
    name = url.rsplit("/", 1)[1]  # made by create_database: [a-z0-9_] only
    sql = f"SELECT xact_commit FROM pg_stat_database WHERE datname = '{name}'"
    return lambda: int(pg.psql(sql).strip())


def run_rounds(modes: dict[str, Mode], args: argparse.Namespace, pg_pid: int) -> Results:
    results: Results = {}
    for rnd in range(args.rounds):
        order = list(modes) if rnd % 2 == 0 else list(reversed(modes))
        for conns in args.conns:
            for op in OPS:
                for name in order:
                    s = modes[name].drive(op, conns, args.duration, pg_pid)
                    results.setdefault((name, op, conns), []).append(s)
    return results


def med(values: list[float]) -> float:
    return statistics.median(values)


def report(results: Results, args: argparse.Namespace) -> None:
    slices = [s for v in results.values() for s in v]
    bad = sum(s.bad for s in slices)
    print("\n2 processes x 1 worker each, one PostgreSQL, 1-item requests, wrk -t1 per process;")
    print(
        f"{args.rounds} rounds of {args.duration:g} s slices, modes back to back, order "
        f"alternating; medians over rounds. Machine used by others: median "
        f"{med([s.other_pct for s in slices]):.1f} %, max {max(s.other_pct for s in slices):.1f} %"
        + (f"  ({bad} non-200 or socket errors!)" if bad else "")
    )
    head = f"{'op':<8}{'conns':>6}{'null rps':>10}{'audit rps':>10}{'ratio':>7}"
    print(
        head + "   CPU us/req server+pg+wrk: null | audited   rec/commit"
        "   p50/p99 ms: null | audited"
    )
    for op in OPS:
        for c in args.conns:
            n, a = results[("null", op, c)], results[("audited", op, c)]
            nr, ar = med([s.rps for s in n]), med([s.rps for s in a])
            print(f"{op:<8}{c:>6}{nr:>10.0f}{ar:>10.0f}{ar / nr:>7.2f}   {_cpu(n)} | {_cpu(a)}"
                  f"   {med([s.requests / max(1, s.commits) for s in a]):>6.1f}"
                  f"   {_lat(n)} | {_lat(a)}")  # fmt: skip
    for op in OPS:
        _headline(results, args, op)


def _cpu(slices: list[Slice]) -> str:
    parts = (med([s.server_us for s in slices]), med([s.pg_us for s in slices]))
    return f"{parts[0]:4.0f}+{parts[1]:3.0f}+{med([s.wrk_us for s in slices]):3.0f}"


def _lat(slices: list[Slice]) -> str:
    return f"{med([s.p50_ms for s in slices]):4.1f}/{med([s.p99_ms for s in slices]):4.1f}"


def _headline(results: Results, args: argparse.Namespace, op: str) -> None:
    def cell(mode: str, conns: int) -> float:  # median over rounds
        return med([s.rps for s in results[(mode, op, conns)]])

    def round_peak(mode: str, rnd: int) -> float:
        return max(results[(mode, op, c)][rnd].rps for c in args.conns)

    peak = {m: max(cell(m, c) for c in args.conns) for m in ("null", "audited")}
    rounds = sorted(
        1 - round_peak("audited", r) / round_peak("null", r) for r in range(args.rounds)
    )
    cpu = {
        m: min(med([s.total_us for s in results[(m, op, c)]]) for c in args.conns)
        for m in ("null", "audited")
    }
    print(
        f"{op}: auditing costs {1 - peak['audited'] / peak['null']:.1%} of peak throughput "
        f"(null {peak['null']:.0f}, audited {peak['audited']:.0f} rps); per-round peaks "
        f"{rounds[0]:.1%} .. {rounds[-1]:.1%}, median {med(rounds):.1%}; least CPU per "
        f"request {cpu['null']:.0f} -> {cpu['audited']:.0f} us = "
        f"{1 - cpu['null'] / cpu['audited']:.1%}"
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--duration", type=float, default=5.0)
    p.add_argument(
        "--conns",
        type=lambda v: [int(x) for x in v.split(",")],
        default=[16, 32, 64],
        help="connections per wrk (one wrk per server), comma-separated",
    )
    p.add_argument("--rounds", type=int, default=5, help="rounds of back-to-back slices")
    args = p.parse_args(argv)
    pg = start_postgres()
    modes: dict[str, Mode] = {}
    try:
        for name in ("null", "audited"):
            url = pg.create_database()
            modes[name] = start_mode(name, url, commits_of(pg, url))
        assert pg.proc is not None
        results = run_rounds(modes, args, pg.proc.pid)
        for mode in modes.values():
            mode.stop()
        rc, seconds, verdict = verify_trail(modes["audited"].env)
    finally:
        for mode in modes.values():
            mode.stop()
        pg.stop()
    report(results, args)
    RAW.parent.mkdir(exist_ok=True)
    raw = [{"mode": m, "op": o, "conns": c, "round": i, **asdict(s)}
           for (m, o, c), v in results.items() for i, s in enumerate(v)]  # fmt: skip
    RAW.write_text(json.dumps(raw, indent=1))
    print(f"audit verify of the audited run's merged trail: exit {rc} in {seconds:.1f} s")
    print(verdict)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
