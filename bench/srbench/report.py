"""Result rows, the printed table, the targets section and the JSON file."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

STRONGROOM, OPENBAO, INPROC = "strongroom", "openbao", "in-process"
NOISY_PCT = 10.0  # a run where other processes used more of the CPUs than this is suspect


@dataclass
class Row:
    system: str
    key_type: str
    op: str
    batch: int
    conns: int = 0  # 0 = no HTTP (in-process)
    items_s: float | None = None
    req_s: float | None = None
    p50_ms: float | None = None
    p99_ms: float | None = None
    non200: int | None = None
    socket_errors: int = 0
    server_cores: float | None = None  # CPU used by the server during the run
    wrk_cores: float | None = None  # CPU used by wrk during the run
    other_cpu_pct: float | None = None  # % of all cores used by unrelated processes
    statuses: str = ""
    note: str = ""
    command: str = ""
    attempts: int = 1
    # bench/load.py: which database the server ran on, and the non-200 / socket-error
    # breakdown (see wrkrun.WrkResult).
    store: str = ""
    responses: int = 0  # what wrk received (its "requests"; socket errors excluded)
    non2xx: int = 0
    shed: int = 0
    s503: int = 0
    s500: int = 0
    err_connect: int = 0
    err_read: int = 0
    err_write: int = 0
    err_timeout: int = 0
    tally: str = ""
    procs_lost: int = 0  # server processes (e.g. workers killed by their supervisor) gone

    @property
    def noisy(self) -> bool:
        return (self.other_cpu_pct or 0.0) > NOISY_PCT

    @property
    def flagged(self) -> bool:
        return bool(self.non200) or self.socket_errors > 0 or self.items_s is None

    def key(self) -> tuple[str, str, str, int, int]:
        return (self.system, self.key_type, self.op, self.batch, self.conns)


def _num(v: float | None, fmt: str) -> str:
    return "-" if v is None else format(v, fmt)


def flag_text(row: Row) -> str:
    if row.items_s is None:
        return f"NOT RUN: {row.note}"
    parts = []
    if row.non200:
        parts.append(f"FLAG {row.non200} non-200 ({row.statuses})")
    if row.socket_errors:
        parts.append(f"FLAG {row.socket_errors} socket errors/timeouts")
    if row.noisy:
        parts.append(f"noisy: other processes used {row.other_cpu_pct:.0f}% of the CPUs")
    if row.attempts > 1:
        parts.append(f"{row.attempts} attempts, quietest kept")
    return "; ".join(parts) or row.note


_HEAD = ("system", "key type", "op", "batch", "conns", "items/s", "req/s", "p50 ms", "p99 ms")
_HEAD_CPU = ("srv cpu", "wrk cpu", "other%")
_HEAD2 = ("non-200", "note")


def _cells(r: Row) -> tuple[str, ...]:
    return (
        r.system,
        r.key_type,
        r.op,
        str(r.batch),
        str(r.conns) if r.conns else "-",
        _num(r.items_s, ",.0f"),
        _num(r.req_s, ",.0f"),
        _num(r.p50_ms, ".2f"),
        _num(r.p99_ms, ".2f"),
        _num(r.server_cores, ".2f"),
        _num(r.wrk_cores, ".2f"),
        _num(r.other_cpu_pct, ".0f"),
        "-" if r.non200 is None else str(r.non200),
        flag_text(r),
    )


def render(head: tuple[str, ...], cells: list[tuple[str, ...]], left: set[int]) -> str:
    """Aligned columns (``left`` ones left-aligned, others right); the last one is free text."""
    widths = [max(len(c[i]) for c in [head, *cells]) for i in range(len(head) - 1)]

    def line(c: tuple[str, ...]) -> str:
        out = [c[i].ljust(w) if i in left else c[i].rjust(w) for i, w in enumerate(widths)]
        return "  ".join([*out, c[-1]]).rstrip()

    sep = "  ".join("-" * w for w in widths)
    return "\n".join([line(head), sep, *(line(c) for c in cells)])


def table(rows: list[Row]) -> str:
    return render(_HEAD + _HEAD_CPU + _HEAD2, [_cells(r) for r in rows], {0, 1, 2})


def write_json(
    path: Path,
    meta: dict[str, Any],
    rows: list[Row],
    targets: list[Any],
    extra: dict[str, Any] | None = None,
    row_extra: Callable[[Row], dict[str, Any]] | None = None,
) -> None:
    """``extra``: more top-level sections; ``row_extra``: more fields per row."""
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {
        "meta": meta,
        "rows": [
            asdict(r)
            | {"flagged": r.flagged, "noisy": r.noisy}
            | (row_extra(r) if row_extra else {})
            for r in rows
        ],
        "targets": [asdict(t) for t in targets],
        **(extra or {}),
    }
    path.write_text(json.dumps(doc, indent=2) + "\n")
