"""Overload benchmark (issue #14): OpenBao transit and Strongroom, same run, from 16 to
2000 connections, single-item and batch-100, on SQLite and on PostgreSQL.

Usage: .venv/bin/python bench/load.py [--quick] [--conns 16,64,256,1000,2000]
           [--stores sqlite,postgres] [--duration 10] [--overload-seconds 60]

Not a test. Prints one line per cell (req/s, items/s, p50/p99, socket errors,
timeouts, non-2xx, shed = 503 with Retry-After, 500s, ratio to OpenBao), the
acceptance checks of issue #14, and writes bench/results/load-latest.json.
See bench/README.md ("Overload").
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, replace
from functools import partial
from pathlib import Path
from typing import Any, NamedTuple

from srbench import (
    apis,
    loadreport,
    loadtargets,
    overload,
    payloads,
    postgres,
    procs,
    report,
    wrkrun,
)
from srbench.openbao import OpenBao
from srbench.report import OPENBAO, STRONGROOM, Row
from srbench.runner import Maker, Plan, decrypt_row, encrypt_row, measure
from srbench.strongroom import Strongroom

HERE = Path(__file__).resolve().parent
OPS: dict[str, Maker] = {"encrypt": encrypt_row, "decrypt": decrypt_row}


class Preset(NamedTuple):
    conns: str
    batch_conns: str
    duration: float


FULL = Preset("16,64,256,1000,2000", "16,64,256", 10.0)
QUICK = Preset("64,1000", "64", 3.0)
SETTLE_S = 1.0  # between cells: let the previous run's connections close
FD_NEEDED = 8192  # 2000 wrk sockets + 2000 server sockets + files, with room


def ints(text: str) -> list[int]:
    return sorted({int(x) for x in text.split(",") if x.strip()})


def names(text: str) -> list[str]:
    return [x.strip() for x in text.split(",") if x.strip()]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--quick", action="store_true", help="3 s runs at 64 and 1000 conns only")
    p.add_argument("--conns", type=ints, default=None, help=f"single-item ({FULL.conns})")
    p.add_argument("--batch-conns", type=ints, default=None, help=f"batch-100 ({FULL.batch_conns})")
    p.add_argument("--duration", type=float, default=None, help="seconds per wrk run (10; 3 quick)")
    p.add_argument("--stores", type=names, default=["sqlite", "postgres"])
    p.add_argument("--key-types", type=names, default=["aes256-gcm"], help="single-item types")
    p.add_argument("--batch-key-types", type=names, default=["aes256-gcm", "x25519-hpke"])
    p.add_argument("--systems", type=names, default=[OPENBAO, STRONGROOM])
    p.add_argument(
        "--overload-seconds",
        type=float,
        default=0.0,
        help="after the sweep: single-item encrypt at --overload-conns for this long",
    )
    p.add_argument("--overload-conns", type=int, default=2000, help="connections of that run")
    p.add_argument("--threads", type=int, default=2, help="wrk threads")
    p.add_argument("--timeout", type=int, default=10, help="wrk --timeout seconds")
    p.add_argument("--workers", type=int, default=2, help="strongroom serve --workers")
    p.add_argument("--retries", type=int, default=0, help="re-runs of a cell others disturbed")
    p.add_argument("--strongroom-cmd", default=None, help="override the strongroom command")
    p.add_argument("--server-env", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--output", type=Path, default=HERE / "results" / "load-latest.json")
    args = p.parse_args(argv)
    preset = QUICK if args.quick else FULL
    args.conns = args.conns or ints(preset.conns)
    args.batch_conns = (
        args.batch_conns if args.batch_conns is not None else ints(preset.batch_conns)
    )
    args.duration = args.duration or preset.duration
    return args


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


Spec = tuple[str, str, int]  # key type, op, batch


def schedule(
    args: argparse.Namespace, single: list[str], batched: list[str]
) -> list[tuple[int, Spec]]:
    """Every cell, connections ascending: the heaviest load comes last, right before
    the after-overload check, and cannot poison the lighter cells."""
    out: list[tuple[int, Spec]] = []
    for c in sorted(set(args.conns) | set(args.batch_conns)):
        if c in args.conns:
            out += [(c, (kt, op, 1)) for kt in single for op in OPS]
        if c in args.batch_conns:
            out += [(c, (kt, op, 100)) for kt in batched for op in OPS]
    return out


class Sweep:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.items = payloads.items(100)
        self.rows: list[Row] = []
        self.after: list[overload.AfterOverload] = []
        self.notes: list[str] = []

    def cfg(self, conns: int, duration: float | None = None) -> wrkrun.WrkConfig:
        a = self.args
        return wrkrun.WrkConfig(duration or a.duration, a.threads, conns, a.timeout)

    def cell(
        self, api: apis.Api, store: str, conns: int, spec: Spec, tmp: Path, overload_s: float = 0
    ) -> Row:
        _, op, batch = spec
        cfg = self.cfg(conns, overload_s or None)
        plan = Plan(throughput=cfg, p99=cfg, retries=0 if overload_s else self.args.retries)
        before = procs.group_pids(api.pgid)
        row = measure(OPS[op], (api, self.items[:batch], cfg, tmp), plan)
        row.store = store
        if row.req_s is not None and row.responses:
            # Throughput counts answered items only: a fast 503 is not work done.
            ok = row.responses - (row.non200 or 0)
            row.items_s = row.req_s * ok / row.responses * batch
        if overload_s:
            row.note = f"overload run ({overload_s:g} s)"
        # uvicorn's supervisor kills a worker that misses its health ping for 5 s
        # and starts another: in-flight requests die with it.
        row.procs_lost = len(before - procs.group_pids(api.pgid))
        self.rows.append(row)
        log(loadreport.progress_line(self.rows, row))
        time.sleep(SETTLE_S)
        return row

    def openbao(self, tmp: Path) -> None:
        log("== openbao (dev server, in memory)")
        try:
            with OpenBao() as bao:
                kt = loadreport.BAO_TYPE
                api = apis.openbao_api(partial(bao.url, key_type=kt), bao.headers, kt, bao.pgid)
                for conns, (_, op, batch) in schedule(self.args, [kt], [kt]):
                    self.cell(api, "", conns, (kt, op, batch), tmp)
        except (procs.StartupError, OSError) as e:
            self.notes.append(f"OpenBao did not start: {e}")

    def strongroom(
        self, store: str, env: dict[str, str], tmp: Path, db_pgid: int | None = None
    ) -> None:
        a = self.args
        cmd = shlex.split(a.strongroom_cmd) if a.strongroom_cmd else None
        types = list(dict.fromkeys([*a.key_types, *a.batch_key_types]))
        try:
            with Strongroom(cmd, a.workers, env) as sr:
                log(f"== strongroom on {store} at {sr.base_url} (tmp {sr.tmp})")
                api_of = {}
                for kt in types:
                    sr.create_key(f"bench-{kt}", kt)
                    api = apis.strongroom_api(sr.base_url, sr.headers, kt, f"bench-{kt}", sr.pgid)
                    api_of[kt] = replace(api, db_pgids=() if db_pgid is None else (db_pgid,))
                for conns, spec in schedule(a, a.key_types, a.batch_key_types):
                    self.cell(api_of[spec[0]], store, conns, spec, tmp)
                self._overload_and_after(sr, api_of[a.key_types[0]], store, tmp)
        except (procs.StartupError, OSError, RuntimeError) as e:
            self.notes.append(f"Strongroom on {store} failed: {e}"[:2000])

    def _overload_and_after(self, sr: Strongroom, api: apis.Api, store: str, tmp: Path) -> None:
        secs, conns = self.args.overload_seconds, self.args.overload_conns
        if secs > 0:
            log(f"  overload: {secs:g} s of single-item encrypt at {conns} conns")
            self.cell(api, store, conns, (api.key_type, "encrypt", 1), tmp, overload_s=secs)
        result = overload.check(sr, api, store)
        self.after.append(result)
        log("  after overload: " + overload.describe(result))
        errs = procs.error_lines(sr.stderr_path)
        if errs:
            self.notes.append(
                f"{store}: {len(errs)} error-looking lines in {sr.stderr_path}; "
                f"first: {errs[0][:300]}"
            )
            sr.keep_tmp = True

    def run(self, tmp: Path) -> None:
        a = self.args
        if OPENBAO in a.systems:
            self.openbao(tmp)
        if STRONGROOM not in a.systems:
            return
        extra = dict(kv.split("=", 1) for kv in a.server_env)
        for store in a.stores:
            if store == "sqlite":
                self.strongroom(store, extra, tmp)
            elif store == "postgres":
                self._on_postgres(extra, tmp)
            else:
                self.notes.append(f"unknown store {store!r} (sqlite, postgres)")

    def _on_postgres(self, extra: dict[str, str], tmp: Path) -> None:
        try:
            pg = postgres.start()
        except postgres.ServiceStartError as e:
            self.notes.append(f"PostgreSQL did not start: {e}")
            return
        try:
            url = pg.create_database("bench_load")
            env = {**extra, "STRONGROOM_DATABASE_URL": url}
            self.strongroom("postgres", env, tmp, pg.proc.pid if pg.proc else None)
        finally:
            pg.stop()


def checks(s: Sweep) -> list[loadtargets.Check]:
    a = s.args
    return [
        *loadtargets.overload(s.rows),
        *loadtargets.single(s.rows, a.stores, a.key_types),
        *loadtargets.batch(s.rows, a.stores, a.batch_key_types),
        *loadtargets.after(s.after),
    ]


def meta(a: argparse.Namespace, fds: str, started: float, load: float) -> dict[str, Any]:
    return {
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "cpus": os.cpu_count(),
        "elapsed_s": round(time.monotonic() - started, 1),
        "loadavg_start": load,
        "loadavg_end": os.getloadavg()[0],
        "fd_limit": fds,
        "postgres_settings": postgres.DURABLE,
        "item_bytes": payloads.ITEM_LEN,
        **{k: (str(v) if isinstance(v, Path) else v) for k, v in vars(a).items()},
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    fds = procs.raise_fd_limit(FD_NEEDED)
    load = os.getloadavg()[0]
    started = time.monotonic()
    sweep = Sweep(args)
    if load > 0.5:
        sweep.notes.append(f"load average {load:.2f} at start: other processes share the CPUs")
    tmp = Path(tempfile.mkdtemp(prefix="bench-load-bodies-"))
    try:
        sweep.run(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    results = checks(sweep)
    print(
        f"\nwrk -t{args.threads} --timeout {args.timeout}s, {args.duration:g} s per cell, "
        f"{args.workers} workers; {fds}; wrk, servers and PostgreSQL share "
        f"{os.cpu_count()} cores. items/s = items answered with 200 per second; "
        "x bao = Strongroom items/s / OpenBao aes256-gcm96 items/s in the same cell.\n"
    )
    print(loadreport.table(sweep.rows))
    print("\nAfter overload\n" + "\n".join(overload.describe(x) for x in sweep.after))
    print("\nTargets (issue #14)\n" + loadtargets.format_checks(results))
    for n in sweep.notes:
        print(f"\nNOTE: {n}")
    doc = meta(args, fds, started, load) | {"notes": sweep.notes}
    report.write_json(
        args.output,
        doc,
        sweep.rows,
        results,
        extra={"after_overload": [asdict(x) for x in sweep.after]},
        row_extra=lambda r: {
            "x_bao": loadreport.vs_bao(sweep.rows, r),
            "shed_pct": loadreport.shed_pct(r),
        },
    )
    print(f"\nwrote {args.output} ({doc['elapsed_s']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
