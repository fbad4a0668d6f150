"""Strongroom benchmark: Strongroom vs OpenBao transit vs the bare crypto layer.

Usage: .venv/bin/python bench/run.py [--duration 8] [--quick]

Not a test: it starts a Strongroom service and an OpenBao dev server, drives
both with wrk (bench/wrk/post.lua), times the crypto layer in process, prints
one table plus the targets, and writes bench/results/latest.json.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import shlex
import subprocess
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from srbench import apis, payloads, procs, report, targets, wrkrun
from srbench.openbao import KEYS as BAO_KEYS
from srbench.openbao import OpenBao
from srbench.report import Row
from srbench.runner import Plan, bench_api
from srbench.strongroom import Strongroom

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"
ALL_TYPES = ("x25519-hpke", "p256-hpke", "mlkem768-x25519-hpke", "aes256-gcm")
QUICK_TYPES = ("x25519-hpke", "aes256-gcm")
SYSTEMS = ("inproc", "openbao", "strongroom")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--duration", type=float, default=None, help="seconds per wrk run (8; 2 quick)")
    p.add_argument("--quick", action="store_true", help="2 s runs, x25519-hpke + aes256-gcm only")
    p.add_argument("--threads", type=int, default=2, help="wrk threads (the box has 2 cores)")
    p.add_argument("--conns", type=int, default=targets.THROUGHPUT_CONNS)
    p.add_argument("--p99-conns", type=int, default=targets.P99_CONNS)
    p.add_argument("--retries", type=int, default=1, help="re-runs of a row disturbed by others")
    p.add_argument("--workers", type=int, default=2, help="strongroom serve --workers")
    p.add_argument("--systems", default=",".join(SYSTEMS), help="subset of " + ",".join(SYSTEMS))
    p.add_argument("--strongroom-cmd", default=None, help="override the strongroom command")
    p.add_argument(
        "--server-env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra env for strongroom, e.g. STRONGROOM_DATA_KEY_CACHE_SIZE=0",
    )
    p.add_argument("--output", type=Path, default=HERE / "results" / "latest.json")
    args = p.parse_args(argv)
    if args.duration is None:
        args.duration = 2.0 if args.quick else 8.0
    return args


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def progress(row: Row) -> None:
    items = "-" if row.items_s is None else f"{row.items_s:,.0f} items/s"
    p99 = "" if row.p99_ms is None else f" p99 {row.p99_ms:.2f} ms"
    flag = f" [{report.flag_text(row)}]" if row.flagged else ""
    log(f"  {row.system} {row.key_type} {row.op} b{row.batch} c{row.conns}: {items}{p99}{flag}")


def make_plan(args: argparse.Namespace) -> Plan:
    tp = wrkrun.WrkConfig(args.duration, args.threads, args.conns)
    p99 = wrkrun.WrkConfig(args.duration, args.threads, args.p99_conns)
    return Plan(throughput=tp, p99=p99, retries=args.retries)


def run_inproc(key_types: tuple[str, ...], items: list[str], budget: float) -> list[Row]:
    if importlib.util.find_spec("strongroom") is None:
        sys.path.insert(0, str(SRC))
    from srbench import inproc

    rows = []
    for kt in key_types:
        for batch in (1, 100):
            rates = inproc.measure(kt, items[:batch], budget)
            for op, per_s in rates.items():
                rows.append(Row(report.INPROC, kt, op, batch, 0, per_s * batch, per_s))
                progress(rows[-1])
    return rows


def run_openbao(plan: Plan, items: list[str], notes: list[str]) -> list[Row]:
    rows: list[Row] = []
    try:
        with OpenBao() as bao:
            for kt in BAO_KEYS:
                api = apis.openbao_api(partial(bao.url, key_type=kt), bao.headers, kt, bao.pgid)
                rows += bench_api(api, plan, items, progress)
            if any(r.flagged for r in rows):
                notes.append(f"OpenBao log tail:\n{bao.log_tail()}")
    except (procs.StartupError, OSError) as e:
        notes.append(f"OpenBao did not start: {e}")
    return rows


def _not_run(key_types: tuple[str, ...], plan: Plan, why: str) -> list[Row]:
    rows = []
    for kt in key_types:
        for batch in plan.batches:
            for op in ("encrypt", "decrypt"):
                rows.append(Row(report.STRONGROOM, kt, op, batch, plan.throughput.connections))
        rows.append(Row(report.STRONGROOM, kt, "encrypt", 1, plan.p99.connections))
    for r in rows:
        r.note = why
    return rows


def _bench_type(
    sr: Strongroom, kt: str, plan: Plan, items: list[str], created: set[str]
) -> list[Row]:
    user = f"bench-{kt}"
    if user not in created:
        try:
            sr.create_key(user, kt)
        except Exception as e:
            return _not_run((kt,), plan, f"key creation failed: {e}"[:300])
        created.add(user)
    api = apis.strongroom_api(sr.base_url, sr.headers, kt, user, sr.pgid)
    return bench_api(api, plan, items, progress)


def _strongroom_types(
    sr: Strongroom, key_types: tuple[str, ...], plan: Plan, items: list[str], notes: list[str]
) -> list[Row]:
    """Each key type in turn; if the server died meanwhile, restart it and redo that type."""
    rows: list[Row] = []
    created: set[str] = set()
    for i, kt in enumerate(key_types):
        got = _bench_type(sr, kt, plan, items, created)
        if not sr.alive():
            notes.append(f"Strongroom server died during {kt} ({sr.exit_status()}); restarting")
            sr.keep_tmp = True
            try:
                sr.restart()
            except procs.StartupError as e:
                notes.append(f"restart failed: {e}")
                return [*rows, *got, *_not_run(key_types[i + 1 :], plan, "server died")]
            got = _bench_type(sr, kt, plan, items, created)
        rows += got
    return rows


def run_strongroom(
    plan: Plan,
    items: list[str],
    key_types: tuple[str, ...],
    cmd: list[str] | None,
    notes: list[str],
    workers: int,
    extra_env: dict[str, str],
) -> list[Row]:
    try:
        with Strongroom(cmd, workers, extra_env) as sr:
            log(f"  strongroom up at {sr.base_url} (tmp {sr.tmp})")
            rows = _strongroom_types(sr, key_types, plan, items, notes)
            _server_notes(sr, rows, notes)
            return rows
    except (procs.StartupError, OSError) as e:
        notes.append(f"Strongroom did not start: {e}")
        return _not_run(key_types, plan, "service did not start")


def _server_notes(sr: Strongroom, rows: list[Row], notes: list[str]) -> None:
    errs = procs.error_lines(sr.stderr_path)
    if not sr.alive():
        notes.append(f"Strongroom server died during the run: {sr.exit_status()}")
    if errs:
        notes.append(f"{len(errs)} error-looking lines in {sr.stderr_path}; first: {errs[0][:300]}")
    if errs or any(r.flagged for r in rows) or not sr.alive():
        sr.keep_tmp = True
        notes.append(f"Strongroom server stderr tail ({sr.stderr_path}):\n{sr.log_tail()}")


def tool_version(cmd: list[str]) -> str:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=10, check=False)
    except OSError as e:
        return f"unavailable ({e})"
    return (out.stdout or out.stderr).strip().splitlines()[0] if (out.stdout or out.stderr) else "?"


def meta(args: argparse.Namespace, plan: Plan, key_types: tuple[str, ...]) -> dict[str, Any]:
    from srbench.openbao import bao_binary

    return {
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "wrk": tool_version([wrkrun.wrk_binary(), "--version"]),
        "openbao": tool_version([bao_binary(), "version"]),
        "duration_s": args.duration,
        "wrk_threads": plan.throughput.threads,
        "throughput_conns": plan.throughput.connections,
        "p99_conns": plan.p99.connections,
        "strongroom_workers": args.workers,
        "strongroom_extra_env": args.server_env,
        "key_types": list(key_types),
        "item_bytes": payloads.ITEM_LEN,
    }


def collect(
    args: argparse.Namespace, plan: Plan, key_types: tuple[str, ...], notes: list[str]
) -> list[Row]:
    systems = set(args.systems.split(","))
    items = payloads.items(100)
    cmd = shlex.split(args.strongroom_cmd) if args.strongroom_cmd else None
    env = dict(kv.split("=", 1) for kv in args.server_env)
    steps: list[tuple[str, Callable[[], list[Row]]]] = [
        ("inproc", lambda: run_inproc(key_types, items, 0.3 if args.quick else 1.0)),
        ("openbao", lambda: run_openbao(plan, items, notes)),
        (
            "strongroom",
            lambda: run_strongroom(plan, items, key_types, cmd, notes, args.workers, env),
        ),
    ]
    rows: list[Row] = []
    for name, step in steps:
        if name in systems:
            log(f"== {name}")
            rows += step()
    return rows


def commands_used(rows: list[Row]) -> list[str]:
    seen: dict[tuple[str, int, str], str] = {}
    for r in rows:
        if r.command:
            seen.setdefault((r.system, r.conns, r.op), r.command)
    return list(seen.values())


def print_report(rows: list[Row], tgts: list[targets.Target], plan: Plan, notes: list[str]) -> None:
    tp = plan.throughput
    print(
        f"\nwrk -t{tp.threads}, {plan.throughput.duration:g}s per run; wrk and the servers "
        f"share {os.cpu_count()} cores; in-process = 1 core, no HTTP\n"
    )
    print(report.table(rows))
    print("\nTargets\n" + targets.format_targets(tgts))
    print("\nwrk command lines (examples; every row's command is in the JSON):")
    print("\n".join(f"  {c}" for c in commands_used(rows)))
    for n in notes:
        print(f"\nNOTE: {n}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    plan = make_plan(args)
    key_types = QUICK_TYPES if args.quick else ALL_TYPES
    notes: list[str] = []
    load = os.getloadavg()[0]
    if load > 0.5:
        notes.append(f"load average {load:.2f} at start: other processes share the CPUs")
    started = time.monotonic()
    rows = collect(args, plan, key_types, notes)
    tgts = targets.evaluate(rows, plan.throughput.connections, plan.p99.connections)
    print_report(rows, tgts, plan, notes)
    info = meta(args, plan, key_types) | {
        "elapsed_s": round(time.monotonic() - started, 1),
        "loadavg_start": load,
        "loadavg_end": os.getloadavg()[0],
    }
    report.write_json(args.output, info | {"notes": notes}, rows, tgts)
    print(f"\nwrote {args.output} ({info['elapsed_s']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
