"""Cost of counting a stored key's use: ``UsageRecorder.record()`` per call, and the
database writes per 1,000 uses (credentials/usage.py, docs/usage-analytics.md).

Usage: .venv/bin/python bench/usage_record.py [--uses 100000] [--rounds 5]
           [--keys 50] [--callers 20] [--url postgresql+asyncpg://...]

Each round records ``--uses`` uses spread over ``--keys`` keys, ``--callers`` callers,
8 addresses, 3 hosts and 4 statuses within one hour, timing ``record()`` alone (the
broker's per-call cost) with and without the anomaly rules observing, then flushes
and counts the INSERT/UPDATE/DELETE statements the database received (an SQLAlchemy
cursor event). Default database: a migrated SQLite file in a temporary directory.
Prints one JSON object with medians over the rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event

from strongroom.audit.events import SecurityEvent
from strongroom.config.usage import UsageSettings
from strongroom.credentials.anomaly import AnomalyDetector
from strongroom.credentials.contract import Use, UseKind
from strongroom.credentials.usage import UsageRecorder
from strongroom.store.db import Database
from strongroom.store.migrate import upgrade
from strongroom.store.tenancy import enter_system_scope


class _Alerts:
    async def raise_events(self, events: list[SecurityEvent]) -> None:
        return None


@contextmanager
def _writes(db: Database) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(_c: Any, _cur: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().split(" ", 1)[0].upper() in ("INSERT", "UPDATE", "DELETE"):
            seen.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", count)


def _uses(n: int, keys: int, callers: int, start: datetime) -> list[Use]:
    statuses = (200, 200, 404, 503)
    return [
        Use(
            tenant="default",
            key_id=i % keys,
            kind=UseKind.BROKER,
            caller=f"ak_{i % callers:04d}",
            source=f"198.51.100.{i % 8}",
            host=("api.openai.com", "api.stripe.com", "api.github.com")[i % 3],
            status=statuses[i % 4],
            at=start + timedelta(milliseconds=i * 30_000 // n),  # within 30 s
        )
        for i in range(n)
    ]


async def _round(db: Database, uses: list[Use], observed: bool, hour: int) -> dict[str, float]:
    settings = UsageSettings(flush_interval_seconds=300, flush_max_uses=1_000_000)
    recorder = UsageRecorder(db, settings)
    detector = AnomalyDetector(settings, db, recorder, _Alerts())
    if observed:
        recorder.observers.append(detector.observe)
    shifted = [
        Use(**{**u.__dict__, "at": u.at + timedelta(hours=hour)})  # a fresh hour each round
        for u in uses
    ]
    t0 = time.perf_counter_ns()
    for u in shifted:
        recorder.record(u)
    per_call = (time.perf_counter_ns() - t0) / len(shifted)
    await detector.drain()  # its database checks (new callers, usual hours) are not timed
    with _writes(db) as seen:
        f0 = time.perf_counter()
        await recorder.close()
        flush_s = time.perf_counter() - f0
    return {
        "ns_per_record": per_call,
        "writes": float(len(seen)),
        "writes_per_1000_uses": 1000 * len(seen) / len(shifted),
        "flush_seconds": flush_s,
    }


def _reference_ns() -> float:
    """ns per dict update on this machine now: a shared machine's load shows here, so
    ``ns_per_record`` can be read relative to it."""
    d: dict[int, int] = {}
    t0 = time.perf_counter_ns()
    for i in range(200_000):
        d[i % 100] = d.get(i % 100, 0) + 1
    return (time.perf_counter_ns() - t0) / 200_000


async def main(args: argparse.Namespace) -> dict[str, Any]:
    enter_system_scope()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.url or f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        db = Database(url)
        await upgrade(db)
        base = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        uses = _uses(args.uses, args.keys, args.callers, base - timedelta(days=30))
        out: dict[str, Any] = {"uses_per_round": args.uses, "rounds": args.rounds, "db": url}
        out["reference_ns_per_dict_update"] = _reference_ns()
        for observed in (False, True):
            rounds = [
                await _round(db, uses, observed, r + (args.rounds if observed else 0))
                for r in range(args.rounds)
            ]
            name = "with_anomaly_rules" if observed else "recorder_only"
            out[name] = {k: statistics.median(r[k] for r in rounds) for k in rounds[0]}
            out[name]["dict_updates_per_record"] = (
                out[name]["ns_per_record"] / out["reference_ns_per_dict_update"]
            )
        await db.dispose()
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--uses", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--keys", type=int, default=50)
    parser.add_argument("--callers", type=int, default=20)
    parser.add_argument("--url", default=None, help="a database URL (default: SQLite)")
    result = asyncio.run(main(parser.parse_args()))
    json.dump(result, sys.stdout, indent=2)
    print()
