"""The credential broker's overhead, and rotation under load.

Usage: .venv/bin/python bench/broker.py [--duration 8] [--conns 64] [--rotate-seconds 10]

Not a test. Starts a minimal upstream on 127.0.0.1 (a raw ASGI app under uvicorn with
httptools, 1 worker: answers ``{"ok": true}`` to a request whose ``Authorization`` is
``Bearer rk-…``, else 401) and a Strongroom service on embedded defaults (SQLite, local
key file, ``--workers``), stores a key (project ``bench``, key ``up``, host
``127.0.0.1``, network ``127.0.0.0/8``, ``Authorization: Bearer {key}``), then with wrk
(bench/wrk/kv.lua, GET):

- latency, 1 connection: the upstream directly, then through the broker's
  forward-proxy mode; added latency = broker minus direct, at p50 and p99;
- throughput, ``--conns`` connections: calls/s directly and through the broker;
- rotation under load: 16 callers (httpx, async) call through the broker for
  ``--rotate-seconds`` while the key is rotated every 0.2 s through the API; every
  call must answer 200 from the upstream (0 failed calls).

The upstream, the service and wrk share the machine's 2 cores: read the figures as
a comparison under the same conditions, not as capacity. Writes
bench/results/broker.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
KV_LUA = HERE / "wrk" / "kv.lua"
PROJECT, KEY = "bench", "up"


async def upstream_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The bench upstream: as little work as an HTTP answer can be."""
    if scope["type"] != "http":
        return
    auth = next((v for k, v in scope["headers"] if k == b"authorization"), b"")
    ok = auth.startswith(b"Bearer rk-") or scope["path"] == "/healthz"
    body = b'{"ok": true}' if ok else b'{"ok": false}'
    await send(
        {
            "type": "http.response.start",
            "status": 200 if ok else 401,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": body})


def serve_upstream(port: int) -> None:
    import uvicorn

    uvicorn.run(
        upstream_app, host="127.0.0.1", port=port, http="httptools", log_level="warning",
        access_log=False,
    )  # fmt: skip


@dataclass(frozen=True)
class Row:
    path: str  # direct | broker
    conns: int
    req_s: float
    p50_ms: float
    p99_ms: float
    non200: int
    socket_errors: int


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def new_value() -> str:
    return "rk-" + secrets.token_urlsafe(24)


def store_key(base: str, headers: dict[str, str]) -> None:
    """The stored key the broker injects (projects and keys API, issue #17)."""
    r = httpx.post(f"{base}/api/v1/projects", json={"name": PROJECT}, headers=headers)
    if r.status_code not in (200, 201, 409):
        raise SystemExit(f"project: {r.status_code} {r.text[:300]}")
    body = {
        "name": KEY,
        "provider": "bench",
        "value": new_value(),
        "hosts": ["127.0.0.1"],
        "allowedNetworks": ["127.0.0.0/8"],
        "injection": {"kind": "header", "name": "Authorization", "template": "Bearer {key}"},
    }
    r = httpx.post(f"{base}/api/v1/projects/{PROJECT}/api-keys", json=body, headers=headers)
    if r.status_code not in (200, 201):
        raise SystemExit(f"api key: {r.status_code} {r.text[:300]}")


async def rotate(client: httpx.AsyncClient, headers: dict[str, str]) -> int:
    url = f"/api/v1/projects/{PROJECT}/api-keys/{KEY}/rotate"
    r = await client.post(url, json={"value": new_value()}, headers=headers)
    return r.status_code


async def rotation_under_load(
    base: str, proxy: str, headers: dict[str, str], seconds: float, callers: int = 16
) -> dict[str, Any]:
    calls = failed = rotations = rotate_failed = 0
    statuses: dict[str, int] = {}
    stop = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=callers + 2)
    async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as client:

        async def caller() -> None:
            nonlocal calls, failed
            while time.monotonic() < stop:
                r = await client.get(proxy, headers=headers)
                calls += 1
                if r.status_code != 200 or r.json() != {"ok": True}:
                    failed += 1
                    key = f"{r.status_code}:{r.headers.get('x-strongroom-broker', 'ours')}"
                    statuses[key] = statuses.get(key, 0) + 1

        async def rotator() -> None:
            nonlocal rotations, rotate_failed
            while time.monotonic() < stop:
                status = await rotate(client, headers)
                rotations += 1
                rotate_failed += status not in (200, 201)
                await asyncio.sleep(0.2)

        await asyncio.gather(rotator(), *(caller() for _ in range(callers)))
    return {
        "callers": callers,
        "seconds": seconds,
        "calls": calls,
        "failed": failed,
        "failures": statuses,
        "rotations": rotations,
        "rotations_failed": rotate_failed,
    }


def drive(cfg: Any, path: str, url: str, headers: dict[str, str]) -> Row:
    from srbench import wrkrun

    res = wrkrun.run(cfg, url, Path("-"), headers, KV_LUA, ["GET", "-", "0"])
    row = Row(path, cfg.connections, res.rps, res.p50_ms, res.p99_ms, res.non200,
              res.socket_errors)  # fmt: skip
    bad = f"  non-200 {res.non200}" if res.non200 else ""
    log(f"  {path:<6} c{cfg.connections}: {res.rps:,.0f} req/s p50 {res.p50_ms:.2f} ms "
        f"p99 {res.p99_ms:.2f} ms{bad}")  # fmt: skip
    return row


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--serve-upstream", type=int, help=argparse.SUPPRESS)
    p.add_argument("--duration", type=float, default=8.0, help="seconds per wrk run")
    p.add_argument("--conns", type=int, default=64)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--workers", type=int, default=2, help="strongroom serve --workers")
    p.add_argument("--rotate-seconds", type=float, default=10.0)
    p.add_argument("--output", type=Path, default=HERE / "results" / "broker.json")
    args = p.parse_args(argv)
    if args.serve_upstream:
        serve_upstream(args.serve_upstream)
        return 0
    sys.path[:0] = [str(HERE)]
    from srbench import procs, wrkrun
    from srbench.strongroom import Strongroom

    tmp = Path(tempfile.mkdtemp(prefix="bench-broker-"))
    port = procs.free_port()
    up = procs.start(
        [sys.executable, __file__, "--serve-upstream", str(port)], dict(os.environ), tmp, "upstream"
    )
    rows: list[Row] = []
    try:
        direct = f"http://127.0.0.1:{port}/v1/ping"
        procs.wait_http(f"http://127.0.0.1:{port}/healthz", up, tmp / "upstream.err")
        with Strongroom(workers=args.workers) as sr:
            store_key(sr.base_url, sr.headers)
            proxy = f"/api/v1/broker/{PROJECT}/{KEY}/http/127.0.0.1:{port}/v1/ping"
            check = httpx.get(sr.base_url + proxy, headers=sr.headers, timeout=30)
            if check.status_code != 200 or check.json() != {"ok": True}:
                raise SystemExit(f"broker check: {check.status_code} {check.text[:300]}")
            direct_h = {"Authorization": "Bearer rk-direct"}
            for conns, threads in ((1, 1), (args.conns, args.threads)):
                cfg = wrkrun.WrkConfig(args.duration, threads, conns)
                rows.append(drive(cfg, "direct", direct, direct_h))
                rows.append(drive(cfg, "broker", sr.base_url + proxy, sr.headers))
            log(f"rotation under load: {args.rotate_seconds:g} s")
            rotation = asyncio.run(
                rotation_under_load(sr.base_url, proxy, sr.headers, args.rotate_seconds)
            )
    finally:
        procs.stop(up)
    by = {(r.path, r.conns): r for r in rows}
    added = {
        "p50_ms": by[("broker", 1)].p50_ms - by[("direct", 1)].p50_ms,
        "p99_ms": by[("broker", 1)].p99_ms - by[("direct", 1)].p99_ms,
    }
    print(f"{'path':<7} {'conns':>5} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} non200")
    for r in rows:
        print(f"{r.path:<7} {r.conns:>5} {r.req_s:>9,.0f} {r.p50_ms:>8.2f} {r.p99_ms:>8.2f} "
              f"{r.non200}")  # fmt: skip
    print(
        f"added latency (1 connection): p50 {added['p50_ms']:.2f} ms, p99 {added['p99_ms']:.2f} ms"
    )
    print(
        f"rotation under load: {rotation['calls']} calls, {rotation['failed']} failed, "
        f"{rotation['rotations']} rotations ({rotation['rotations_failed']} failed)"
    )
    args.output.parent.mkdir(parents=True, exist_ok=True)
    out = {"rows": [asdict(r) for r in rows], "added": added, "rotation": rotation}
    args.output.write_text(json.dumps(out, indent=2))
    return 0 if rotation["failed"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
