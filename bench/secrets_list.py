"""Listing the vault with a metadata filter over 10,000 secrets on SQLite.

Usage: .venv/bin/python bench/secrets_list.py [--secrets 10000] [--requests 200]

Not a test. Builds a fresh SQLite database (migrated) holding ``--secrets`` secrets
under ``apps/<team>/<n>`` (20 teams), each with custom metadata ``env`` (prod,
staging or dev) and ``team``; the rows are inserted directly, as the vault writes
them (a listing never opens a value). Then, in process through the HTTP app (ASGI,
no socket), times ``GET /api/v1/secrets`` pages of 100:

- admin, ``meta.env=prod`` (a third of the secrets match);
- admin, ``meta.env=prod&meta.team=team07`` (two pairs, AND: ~170 match);
- a key granted ``secrets:read``+``list`` on ``apps/team07/*``, ``meta.env=prod``
  (the grant's prefix narrows the query, each name is then checked);
- admin, a whole pass over every ``meta.env=prod`` page by cursor.

Prints p50/p95/max per case and whether the p95 target (< 50 ms) is met.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import logging
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import structlog

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent / "src")]

from strongroom.api.app import create_app  # noqa: E402
from strongroom.config import Settings  # noqa: E402
from strongroom.kms.local import create_master_key_file  # noqa: E402
from strongroom.services.container import Services, build_services  # noqa: E402
from strongroom.store.models import Secret, SecretMeta  # noqa: E402
from strongroom.store.tenancy import enter_system_scope  # noqa: E402

TARGET_MS = 50.0
TEAMS = 20
ENVS = ("prod", "staging", "dev")


async def populate(svc: Services, n: int) -> None:
    now = datetime.now(UTC)
    async with svc.db.transaction() as s:
        rows = []
        for i in range(n):
            team = f"team{i % TEAMS:02d}"
            meta = {"env": ENVS[i % 3], "team": team}
            rows.append(
                Secret(
                    tenant_id="default",
                    path=f"apps/{team}/secret-{i:05d}",
                    latest_version=1,
                    current_version=1,
                    pending_version=0,
                    previous_version=0,
                    max_versions=10,
                    delete_version_after=0,
                    custom_metadata=meta,
                    created_at=now,
                    updated_at=now,
                )
            )
        s.add_all(rows)
        await s.flush()
        for row in rows:
            for k, v in row.custom_metadata.items():
                s.add(SecretMeta(secret_id=row.id, key=k, tenant_id="default", value=v))


def summary(name: str, ms: list[float]) -> bool:
    ms = sorted(ms)
    p95 = ms[max(0, int(len(ms) * 0.95) - 1)]
    ok = p95 < TARGET_MS
    print(
        f"{name:<48} n={len(ms):>4} p50 {statistics.median(ms):6.2f} ms  p95 {p95:6.2f} ms  "
        f"max {ms[-1]:6.2f} ms  {'MET' if ok else 'NOT MET'}"
    )
    return ok


async def timed(client: httpx.AsyncClient, key: str, params: dict[str, str], n: int) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        r = await client.get("/api/v1/secrets", params=params, headers={"X-API-Key": key})
        out.append((time.perf_counter() - t0) * 1000)
        if r.status_code != 200:
            raise SystemExit(f"{r.status_code} {r.text[:300]}")
    return out


async def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--secrets", type=int, default=10_000)
    p.add_argument("--requests", type=int, default=200)
    args = p.parse_args(argv)
    logging.disable(logging.CRITICAL)
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(file=io.StringIO()))
    tmp = Path(tempfile.mkdtemp(prefix="bench-list-"))
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp}/strongroom.db",
        master_key_file=tmp / "strongroom.key",
        scheduler_enabled=False,
        rate_limit_requests_per_minute=10**9,
    )
    create_master_key_file(settings.kms.master_key_file)
    svc = build_services(settings)
    enter_system_scope()
    await svc.start(migrate=True)
    _, admin = await svc.access.create("default", ["admin"], "bench")
    t0 = time.perf_counter()
    await populate(svc, args.secrets)
    print(f"populated {args.secrets} secrets in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    app = create_app(settings, svc)
    ok = True
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sr") as c:
            grants = {"grants": [
                {"permission": "secrets:read", "resource": "apps/team07/*"},
                {"permission": "secrets:list", "resource": "apps/team07/*"},
            ]}  # fmt: skip
            r = await c.put("/api/v1/roles/team07", json=grants, headers={"X-API-Key": admin})
            assert r.status_code in (200, 201), r.text
            made = await c.post(
                "/api/v1/access-keys", json={"roles": ["team07"]}, headers={"X-API-Key": admin}
            )
            team_key = made.json()["key"]
            n = args.requests
            await timed(c, admin, {"meta.env": "prod"}, 10)  # warm-up
            ok &= summary("admin meta.env=prod limit=100", await timed(
                c, admin, {"meta.env": "prod", "limit": "100"}, n))  # fmt: skip
            two = {"meta.env": "prod", "meta.team": "team07", "limit": "100"}
            ok &= summary("admin meta.env=prod&meta.team=team07", await timed(c, admin, two, n))
            ok &= summary("apps/team07/* grant, meta.env=prod", await timed(
                c, team_key, {"meta.env": "prod", "limit": "100"}, n))  # fmt: skip
            pages: list[float] = []
            for _ in range(3):
                cursor = None
                while True:
                    params = {"meta.env": "prod", "limit": "100"}
                    if cursor:
                        params["cursor"] = cursor
                    t1 = time.perf_counter()
                    headers = {"X-API-Key": admin}
                    r = await c.get("/api/v1/secrets", params=params, headers=headers)
                    pages.append((time.perf_counter() - t1) * 1000)
                    cursor = r.json()["cursor"]
                    if cursor is None:
                        break
            ok &= summary("admin meta.env=prod, every page by cursor", pages)
    await svc.close()
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
