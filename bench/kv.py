"""Secret reads and writes: Strongroom's vault beside OpenBao KV v2, in one run.

Usage: .venv/bin/python bench/kv.py [--duration 8] [--conns 64]

Not a test. Starts ``bao server -dev`` (KV v2 mounted at ``secret/``) and a
Strongroom service on embedded defaults (SQLite, local key file, 2 workers), writes
one secret of 64 bytes in each, checks a read answers it, then drives with wrk
(bench/wrk/kv.lua) at ``--conns`` connections:

- read:  ``GET /v1/secret/data/bench/kv`` vs ``GET /api/v1/secrets/data/bench/kv``
- write: ``POST /v1/secret/data/bench/w/…`` vs ``PUT /api/v1/secrets/data/bench/w/…``
  (a new version per request, spread over 200 paths per wrk thread so that writers
  are not all queued on one row; neither side uses check-and-set).

Prints req/s, p50, p99 and non-200 counts per system and operation, and the
Strongroom/OpenBao ratio of req/s (target for the read: at least 1.0). Writes
bench/results/kv.json. Both servers and wrk share the machine's cores; read the
figures as a comparison made under the same conditions, not as capacity.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx
from srbench import wrkrun
from srbench.openbao import OpenBao
from srbench.strongroom import Strongroom

HERE = Path(__file__).resolve().parent
KV_LUA = HERE / "wrk" / "kv.lua"
VALUE = {"apiKey": "sk_live_" + "x" * 56}  # a 64-byte secret
SPREAD = 200


@dataclass(frozen=True)
class Row:
    system: str
    op: str
    conns: int
    req_s: float
    p50_ms: float
    p99_ms: float
    non200: int
    socket_errors: int
    tally: str


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _check(r: httpx.Response, what: str) -> None:
    if r.status_code not in (200, 204):
        raise SystemExit(f"{what}: {r.status_code} {r.text[:300]}")


def prepare_openbao(bao: OpenBao) -> None:
    url = f"{bao.base_url}/v1/secret/data/bench/kv"
    _check(httpx.post(url, json={"data": VALUE}, headers=bao.headers, timeout=30), "bao write")
    got = httpx.get(url, headers=bao.headers, timeout=30)
    _check(got, "bao read")
    if got.json()["data"]["data"] != VALUE:
        raise SystemExit("bao read: wrong value")


def prepare_strongroom(sr: Strongroom) -> None:
    url = sr.url("secrets/data/bench/kv")
    _check(httpx.put(url, json={"data": VALUE}, headers=sr.headers, timeout=30), "sr write")
    got = httpx.get(url, headers=sr.headers, timeout=30)
    _check(got, "sr read")
    if got.json()["data"] != VALUE:
        raise SystemExit("strongroom read: wrong value")


def drive(
    cfg: wrkrun.WrkConfig,
    system: str,
    op: str,
    url: str,
    method: str,
    body: Path | None,
    headers: dict[str, str],
) -> Row:
    spread = str(SPREAD if op == "write" else 0)
    args = [method, str(body) if body else "-", spread]
    res = wrkrun.run(cfg, url, body or Path("-"), headers, KV_LUA, args)
    row = Row(
        system, op, cfg.connections, res.rps, res.p50_ms, res.p99_ms, res.non200,
        res.socket_errors, res.tally,
    )  # fmt: skip
    log(f"  {system} {op} c{cfg.connections}: {res.rps:,.0f} req/s p99 {res.p99_ms:.2f} ms"
        f"{'  non-200 ' + str(res.non200) + ' ' + res.tally if res.non200 else ''}")  # fmt: skip
    return row


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--duration", type=float, default=8.0, help="seconds per wrk run")
    p.add_argument("--conns", type=int, default=64)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--workers", type=int, default=2, help="strongroom serve --workers")
    p.add_argument("--output", type=Path, default=HERE / "results" / "kv.json")
    p.add_argument(
        "--strongroom-cmd",
        default=None,
        help="command run in place of .venv/bin/strongroom (e.g. another tree's code)",
    )
    args = p.parse_args(argv)
    cfg = wrkrun.WrkConfig(args.duration, args.threads, args.conns)
    tmp = Path(tempfile.mkdtemp(prefix="bench-kv-"))
    sr_body, bao_body = tmp / "sr.json", tmp / "bao.json"
    sr_body.write_text(json.dumps({"data": VALUE}))
    bao_body.write_text(json.dumps({"data": VALUE}))
    rows: list[Row] = []
    command = shlex.split(args.strongroom_cmd) if args.strongroom_cmd else None
    with OpenBao() as bao, Strongroom(command, workers=args.workers) as sr:
        prepare_openbao(bao)
        prepare_strongroom(sr)
        log(f"wrk {args.threads} threads, {args.conns} connections, {args.duration:g} s per run")
        bao_h, sr_h = bao.headers, sr.headers
        for op in ("read", "write"):
            if op == "read":
                rows.append(drive(cfg, "openbao", op, f"{bao.base_url}/v1/secret/data/bench/kv",
                                  "GET", None, bao_h))  # fmt: skip
                rows.append(drive(cfg, "strongroom", op, sr.url("secrets/data/bench/kv"),
                                  "GET", None, sr_h))  # fmt: skip
            else:
                rows.append(drive(cfg, "openbao", op, f"{bao.base_url}/v1/secret/data/bench/w",
                                  "POST", bao_body, bao_h))  # fmt: skip
                rows.append(drive(cfg, "strongroom", op, sr.url("secrets/data/bench/w"),
                                  "PUT", sr_body, sr_h))  # fmt: skip
    print(f"{'system':<11} {'op':<6} {'conns':>5} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} non200")
    for r in rows:
        print(f"{r.system:<11} {r.op:<6} {r.conns:>5} {r.req_s:>9,.0f} {r.p50_ms:>8.2f} "
              f"{r.p99_ms:>8.2f} {r.non200}")  # fmt: skip
    ratios = {}
    for op in ("read", "write"):
        bao_r = next(r for r in rows if r.system == "openbao" and r.op == op)
        sr_r = next(r for r in rows if r.system == "strongroom" and r.op == op)
        ratios[op] = sr_r.req_s / bao_r.req_s if bao_r.req_s else 0.0
        valid = "" if not (sr_r.non200 or bao_r.non200) else " (INVALID: non-200 answers)"
        print(f"{op}: strongroom/openbao req/s = {ratios[op]:.2f}x{valid}")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(
        json.dumps({"rows": [asdict(r) for r in rows], "ratios": ratios}, indent=2)
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
