"""Worker CPU per request: a baseline and a candidate version of the service, same database.

Usage: .venv/bin/python bench/cpu_per_request.py [--baseline main] [--candidate .]
           [--rounds 3] [--duration 8] [--conns 64] [--ops encrypt,decrypt]
           [--store sqlite|postgres] [--py-spy DIR]
       ops: encrypt, decrypt, and the vault's secret-read (GET of one 64-byte secret)
       and secret-write (PUT, a new version per request over 200 paths; bench/kv.py)

Throughput on a shared 2-core machine says more about the neighbours than about the
code. CPU per request does not (much): each variant runs ``strongroom serve --workers
1``, wrk drives it with one thread, and the server's CPU time (utime + stime of its
process group, from /proc) before and after the run, divided by the requests it
answered, is the figure. Variants alternate (A B, B A, A B, ...) on one database, each
round with a fresh server; the table gives each variant's median and range over the
rounds and the candidate's median relative to the baseline's. See bench/README.md
("CPU per request").
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx
from srbench import cpu, payloads, postgres, wrkrun
from srbench.strongroom import _env
from srbench.variants import (
    ROOT,
    Server,
    Variant,
    check_imports,
    group_cpu_seconds,
    post,
    thread_cpu_seconds,
)
from srbench.variants import resolve as resolve_variant

HERE = Path(__file__).resolve().parent
USER = "bench-cpu"
KV_LUA = HERE / "wrk" / "kv.lua"
SECRET_PATH = "secrets/data/bench/kv"
SECRET = {"apiKey": "sk_live_" + "x" * 56}  # bench/kv.py's 64-byte secret


@dataclass(frozen=True)
class Sample:
    variant: str
    op: str
    round: int
    requests: int
    cpu_s: float  # the server's CPU seconds during the run
    us_per_request: float
    req_s: float  # informational only: the machine is shared
    p99_ms: float
    non200: int
    socket_errors: int
    other_pct: float  # share of all cores used by processes outside the run
    db_cpu_s: float  # PostgreSQL's CPU seconds (0 on SQLite)
    main_us: float  # of us_per_request: the event loop's thread (uvicorn, the app)
    threads_us: float  # the process's other threads (audit writer, aiosqlite, feed)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--baseline", default="main", help="git ref or worktree (main)")
    p.add_argument("--candidate", default=str(ROOT), help="git ref or worktree (this one)")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--duration", type=float, default=8.0, help="seconds per measured run")
    p.add_argument("--warmup", type=float, default=2.0, help="seconds of unmeasured load first")
    p.add_argument("--conns", type=int, default=64)
    p.add_argument("--ops", default="encrypt,decrypt")
    p.add_argument("--key-type", default="aes256-gcm")
    p.add_argument("--items", type=int, default=1, help="items per request")
    p.add_argument("--store", choices=["sqlite", "postgres"], default="sqlite")
    p.add_argument("--server-env", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument(
        "--paired",
        action="store_true",
        help="serve and drive both variants at the same time each round (shared noise)",
    )
    p.add_argument("--py-spy", type=Path, default=None, metavar="DIR", help="profile afterwards")
    p.add_argument("--output", type=Path, default=HERE / "results" / "cpu-latest.json")
    return p.parse_args(argv)


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


class Bench:
    def __init__(self, args: argparse.Namespace, work: Path, env: dict[str, str]) -> None:
        self.args, self.work, self.env = args, work, env
        self.ops = [x.strip() for x in args.ops.split(",") if x.strip()]
        self.items = payloads.items(args.items)
        self.api_key = ""
        self.db_pgid: int | None = None
        self.samples: list[Sample] = []

    def setup(self, v: Variant) -> None:
        """Migrate, create an admin access key and the user's key (with ``v``)."""
        env = v.env(self.env)
        for args in (["migrate"], ["access-keys", "create", "--role", "admin"]):
            done = subprocess.run(
                [*v.command, *args], cwd=self.work, env=env, capture_output=True, text=True
            )
            if done.returncode != 0:
                raise RuntimeError(f"{args[0]}: {done.stderr[-2000:]}")
        self.api_key = done.stdout.strip().splitlines()[-1]
        server = Server(v, self.env, self.work, 1)
        try:
            body = {"userId": USER, "keyType": self.args.key_type}
            post(f"{server.base_url}/api/v1/keys", body, self.headers)
        finally:
            server.stop()

    @property
    def headers(self) -> dict[str, str]:
        return {"X-API-Key": self.api_key}

    def bodies(self, server: Server, tag: str) -> dict[str, Path]:
        """Request bodies, checked against this server (decrypt: its own ciphertexts;
        secret-read: the secret it reads is written first)."""
        url = f"{server.base_url}/api/v1/"
        secret = {"data": SECRET}
        if any(op.startswith("secret-") for op in self.ops):
            r = httpx.put(url + SECRET_PATH, json=secret, headers=self.headers, timeout=30)
            got = httpx.get(url + SECRET_PATH, headers=self.headers, timeout=30)
            if r.status_code != 200 or got.status_code != 200 or got.json()["data"] != SECRET:
                raise RuntimeError(f"secret write/read: {r.status_code} {got.status_code}")
        enc = payloads.strongroom_body(USER, self.items)
        cts = post(url + "encrypt", enc, self.headers)["encryptedData"]
        assert isinstance(cts, list)
        dec = payloads.strongroom_body(USER, [str(c) for c in cts])
        if post(url + "decrypt", dec, self.headers)["decryptedData"] != self.items:
            raise RuntimeError("decrypt did not give the plaintexts back")
        bodies: dict[str, Any] = {"encrypt": enc, "decrypt": dec, "secret-write": secret}
        bodies["secret-read"] = {}
        return {op: payloads.write_body(self.work, f"{op}-{tag}", bodies[op]) for op in self.ops}

    def wrk(self, server: Server, body: Path, op: str, seconds: float) -> wrkrun.WrkResult:
        cfg = wrkrun.WrkConfig(seconds, 1, self.args.conns)
        if op == "secret-read":
            url, args = f"{server.base_url}/api/v1/{SECRET_PATH}", ["GET", "-", "0"]
            return wrkrun.run(cfg, url, Path("-"), self.headers, KV_LUA, args)
        if op == "secret-write":
            url, args = f"{server.base_url}/api/v1/secrets/data/bench/w", ["PUT", str(body)]
            return wrkrun.run(cfg, url, body, self.headers, KV_LUA, [*args, "200"])
        return wrkrun.run(cfg, f"{server.base_url}/api/v1/{op}", body, self.headers)

    def env_of(self, index: int, paired: bool) -> dict[str, str]:
        """Paired servers on SQLite each get their own copy of the database (two writer
        processes on one file would wait on each other's locks)."""
        if not paired or self.args.store != "sqlite":
            return self.env
        copy = self.work / f"strongroom-{index}.db"
        if not copy.exists():
            shutil.copy(self.work / "strongroom.db", copy)
        return self.env | {"STRONGROOM_DATABASE_URL": f"sqlite+aiosqlite:///{copy}"}

    def measure(self, variants: list[Variant], rnd: int) -> None:
        """One round: ``variants`` served and driven at the same time (one: alone)."""
        paired = len(variants) > 1
        servers: list[Server] = []
        try:
            for i, v in enumerate(variants):
                servers.append(Server(v, self.env_of(i, paired), self.work, 1))
            bodies = [self.bodies(srv, str(i)) for i, srv in enumerate(servers)]
            with ThreadPoolExecutor(len(servers)) as pool:
                for op in self.ops:
                    runs = [(srv, b[op], op) for srv, b in zip(servers, bodies, strict=True)]
                    list(pool.map(lambda r: self.wrk(r[0], r[1], r[2], self.args.warmup), runs))
                    time.sleep(0.5)
                    before = [(self._cpu(srv), cpu.snapshot(srv.pgid)) for srv in servers]
                    results = list(
                        pool.map(lambda r: self.wrk(r[0], r[1], r[2], self.args.duration), runs)
                    )
                    for srv, (b, snap), res in zip(servers, before, results, strict=True):
                        use = cpu.usage(snap, cpu.snapshot(srv.pgid))
                        self._record(srv, op, rnd, b, self._cpu(srv), res, use)
        finally:
            for srv in servers:
                srv.stop()

    def _cpu(self, srv: Server) -> tuple[float, dict[int, float], float]:
        db = group_cpu_seconds(self.db_pgid) if self.db_pgid else 0.0
        return group_cpu_seconds(srv.pgid), thread_cpu_seconds(srv.pgid), db

    def _record(
        self,
        srv: Server,
        op: str,
        rnd: int,
        before: tuple[float, dict[int, float], float],
        after: tuple[float, dict[int, float], float],
        res: wrkrun.WrkResult,
        use: cpu.Usage,
    ) -> None:
        (c0, t0, d0), (c1, t1, d1) = before, after
        main = t1.get(srv.pgid, 0.0) - t0.get(srv.pgid, 0.0)
        rest = sum(t1.values()) - sum(t0.get(t, 0.0) for t in t1) - main
        per = 1e6 / max(res.requests, 1)
        s = Sample(
            srv.variant.name, op, rnd, res.requests, c1 - c0, (c1 - c0) * per, res.rps,
            res.p99_ms, res.non200, res.socket_errors, use.other_pct, d1 - d0,
            main * per, rest * per,
        )  # fmt: skip
        self.samples.append(s)
        log(
            f"  round {rnd} {s.variant:24} {op:8} {s.us_per_request:7.0f} us/req "
            f"(main {s.main_us:.0f}, threads {s.threads_us:.0f}) "
            f"({s.requests} req, {s.req_s:.0f} req/s, p99 {s.p99_ms:.0f} ms, "
            f"non-200 {s.non200}, other {s.other_pct:.0f}%)"
        )

    def profile(self, v: Variant, out: Path) -> None:
        """py-spy (raw, 200 Hz) of the worker under the same load: not counted."""
        spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
        server = Server(v, self.env, self.work, 1)
        try:
            bodies = self.bodies(server, "spy")
            for op in self.ops:
                self.wrk(server, bodies[op], op, self.args.warmup)
                name = out / f"{v.name.split()[0]}-{op}.txt"
                cmd = [spy, "record", "-r", "200", "-f", "raw", "-o", str(name)]
                cmd += ["-d", str(int(self.args.duration)), "-p", str(server.pgid), "--threads"]
                spying = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                self.wrk(server, bodies[op], op, self.args.duration)
                spying.wait(timeout=60)
                log(f"  profile: {name}")
        finally:
            server.stop()


def table(samples: list[Sample], names: list[str], ops: list[str]) -> str:
    lines = [
        "| op | variant | CPU us/request, median | range | main thread | other threads "
        "| req/s (shared machine) | p99 ms | vs baseline |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for op in ops:
        base = None
        for name in names:
            mine = [s for s in samples if s.op == op and s.variant == name]
            if not mine:
                continue
            xs = [s.us_per_request for s in mine]
            med = statistics.median(xs)
            base = base or med
            main = statistics.median(s.main_us for s in mine)
            rest = statistics.median(s.threads_us for s in mine)
            rps = statistics.median(s.req_s for s in mine)
            p99 = statistics.median(s.p99_ms for s in mine)
            lines.append(
                f"| {op} | {name} | {med:.0f} | {min(xs):.0f}-{max(xs):.0f} | {main:.0f} "
                f"| {rest:.0f} | {rps:.0f} | {p99:.0f} | {med / base:.2f}x |"
            )
    return "\n".join(lines)


def round_ratios(samples: list[Sample], names: list[str], op: str) -> list[float]:
    """Candidate / baseline CPU per request, round by round (the two runs of a round
    are adjacent in time, or simultaneous with --paired: they share the noise)."""
    by = {(s.variant, s.round): s.us_per_request for s in samples if s.op == op}
    rounds = sorted({r for _, r in by})
    return [
        by[names[1], r] / by[names[0], r]
        for r in rounds
        if (names[1], r) in by and (names[0], r) in by
    ]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="bench-cpu-"))
    pg = None
    try:
        variants = [
            resolve_variant(args.baseline, "baseline", work / "trees"),
            resolve_variant(args.candidate, "candidate", work / "trees"),
        ]
        env = _env(work, 0) | dict(kv.split("=", 1) for kv in args.server_env)
        env.pop("PYTHONPATH", None)
        if args.store == "postgres":
            pg = postgres.start()
            env["STRONGROOM_DATABASE_URL"] = pg.create_database("bench_cpu")
        bench = Bench(args, work, env)
        bench.db_pgid = pg.proc.pid if pg is not None and pg.proc is not None else None
        for v in variants:
            check_imports(v, env)
        bench.setup(variants[1])
        for rnd in range(args.rounds):
            if args.paired:
                bench.measure(variants, rnd)
                continue
            for v in variants if rnd % 2 == 0 else variants[::-1]:
                bench.measure([v], rnd)
        if args.py_spy is not None:
            args.py_spy.mkdir(parents=True, exist_ok=True)
            for v in variants:
                bench.profile(v, args.py_spy)
    finally:
        if pg is not None:
            pg.stop()
    names = [v.name for v in variants]
    print(
        f"\n{args.store}, {args.key_type}, {args.items} item(s), wrk -t1 -c{args.conns} "
        f"{args.duration:g} s, 1 worker, {args.rounds} rounds, "
        f"{'paired (simultaneous)' if args.paired else 'alternating'}\n"
    )
    print(table(bench.samples, names, bench.ops))
    for op in bench.ops:
        xs = round_ratios(bench.samples, names, op)
        if xs:
            each = ", ".join(f"{x:.2f}" for x in xs)
            print(
                f"{op}: candidate / baseline per round {each} (median {statistics.median(xs):.2f})"
            )
    args.output.parent.mkdir(parents=True, exist_ok=True)
    doc: dict[str, Any] = {"args": {k: str(v) for k, v in vars(args).items()}, "variants": names}
    doc["samples"] = [asdict(s) for s in bench.samples]
    args.output.write_text(json.dumps(doc, indent=2))
    print(f"\nwrote {args.output}")
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
