"""Cold path per KMS backend: the first decrypt of a user whose private key is not
cached (so one KMS unwrap) against the warm path (cached), in one process.

Usage: .venv/bin/python bench/kms_cold.py [--users 200]

Not a test. Starts what each backend needs (the test suite's starters: moto in
server mode for aws, an OpenBao dev server, a SoftHSM2 token), drives the key
service directly (no HTTP, so the figure is the KMS's share), and prints p50/p99
per backend for: the bare unwrap, a cold 1-item decrypt, a warm 1-item decrypt.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "src")]

from tests import kms_services, services  # noqa: E402

from strongroom.config import Settings  # noqa: E402
from strongroom.context import Actor  # noqa: E402
from strongroom.keys.cipher import wrap_context  # noqa: E402
from strongroom.kms.interfaces import Wrapped  # noqa: E402
from strongroom.kms.local import create_master_key_file  # noqa: E402
from strongroom.logging import configure_logging  # noqa: E402
from strongroom.services.container import build_services  # noqa: E402

ACTOR = Actor("bench", "default", "bench", None)


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def timed(fn: Callable[[], Awaitable[Any]]) -> float:
    t0 = time.perf_counter()
    await fn()
    return time.perf_counter() - t0


async def measure(name: str, overrides: dict[str, Any], users: int) -> dict[str, list[float]]:
    # SQLite on tmpfs when there is one: the audit commit's fsync would swamp the figure.
    shm = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: ASYNC240 - once
    tmp = Path(tempfile.mkdtemp(prefix=f"sr-cold-{name.split()[0]}-", dir=shm))
    create_master_key_file(tmp / "k")
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp}/b.db",
        master_key_file=tmp / "k",
        scheduler_enabled=False,
        audit_flush_interval_ms=0,
        **overrides,
    )
    svc = build_services(settings)
    await svc.start(migrate=True)
    # As under `serve`: the change feed keeps cached metadata trusted.
    feed = asyncio.create_task(svc.feed.run())
    out: dict[str, list[float]] = {"unwrap": [], "cold decrypt": [], "warm decrypt": []}
    try:
        cts = {}
        for i in range(users):
            await svc.keys.create(ACTOR, f"u{i}", None, None)
            cts[i] = await svc.keys.encrypt(ACTOR, f"u{i}", ["x" * 64], None)
        for i in range(users):
            decrypt = functools.partial(svc.keys.decrypt, ACTOR, f"u{i}", cts[i], None)
            out["cold decrypt"].append(await timed(decrypt))
            out["warm decrypt"].append(await timed(decrypt))
        info = await svc.keys.core.load("default", "u0")
        material = await svc.keys.core.load_material(info.key_id, 1)
        assert material is not None
        wrapped = Wrapped(material.kms_key_ref, material.wrapped)
        ctx = wrap_context("default", "u0", 1, info.key_type)
        for _ in range(users):
            out["unwrap"].append(await timed(lambda: svc.kms.unwrap(wrapped, ctx)))
    finally:
        feed.cancel()
        await svc.close()
    return out


def backends(started: dict[str, Any]) -> dict[str, dict[str, Any]]:
    moto, bao, hsm = started["moto"], started["bao"], started["hsm"]
    return {
        "local": {},
        "aws (moto server)": {
            "kms": "aws",
            "kms_aws_key_id": moto.key_id,
            "kms_aws_endpoint_url": moto.endpoint,
        },
        "openbao": {
            "kms": "openbao",
            "kms_openbao_addr": bao.addr,
            "kms_openbao_token": bao.token,
            "kms_openbao_key": "bench-root",
        },
        "pkcs11 (softhsm2)": {
            "kms": "pkcs11",
            "kms_pkcs11_library": hsm.library,
            "kms_pkcs11_token_label": hsm.label,
            "kms_pkcs11_pin": hsm.pin,
            "kms_pkcs11_key_label": "bench-root",
            "kms_pkcs11_create_key": True,
        },
    }


def start_all() -> dict[str, Any]:
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    bao = services.start_openbao()
    kms_services.enable_transit(bao.addr, bao.token)
    kms_services.bao_request(
        bao.addr, bao.token, "POST", "/v1/transit/keys/bench-root", {"type": "aes256-gcm96"}
    )
    return {"moto": kms_services.start_moto(), "bao": bao, "hsm": kms_services.start_softhsm()}


async def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--users", type=int, default=200)
    args = p.parse_args(argv)
    configure_logging("ERROR")  # the bulk-decrypt rule fires by design here
    started = start_all()
    rows = []
    try:
        for name, overrides in backends(started).items():
            print(f"# {name} ...", file=sys.stderr)
            rows.append((name, await measure(name, overrides, args.users)))
    finally:
        for server in started.values():
            server.stop()
    print(f"\n{args.users} users per backend, x25519-hpke, 1-item decrypt, in process, ms")
    print(
        f"{'backend':<20}{'unwrap p50/p99':>18}{'cold p50/p99':>18}{'warm p50/p99':>18}"
        f"{'cold-warm p50':>15}{'cold/warm':>11}"
    )
    for name, r in rows:
        cells = [f"{pct(r[k], 0.5):.2f}/{pct(r[k], 0.99):.2f}" for k in r]
        cold, warm = statistics.median(r["cold decrypt"]), statistics.median(r["warm decrypt"])
        print(
            f"{name:<20}{cells[0]:>18}{cells[1]:>18}{cells[2]:>18}"
            f"{(cold - warm) * 1000:>15.2f}{cold / warm:>10.1f}x"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
