"""bench/load.py's table: one line per (store, system, key type, op, batch, connections)
with the error breakdown wrk and post.lua give, and the ratio to OpenBao."""

from __future__ import annotations

from srbench.report import OPENBAO, STRONGROOM, Row, render

BAO_TYPE = "aes256-gcm96"


def bao_row(rows: list[Row], op: str, batch: int, conns: int) -> Row | None:
    """OpenBao's aes256-gcm96 cell with the same op, batch size and connections."""
    key = (OPENBAO, BAO_TYPE, op, batch, conns)
    return next((r for r in rows if r.key() == key), None)


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def vs_bao(rows: list[Row], r: Row) -> float | None:
    """Strongroom items/s (answered with 200) over OpenBao's in the same cell."""
    if r.system != STRONGROOM:
        return None
    peer = bao_row(rows, r.op, r.batch, r.conns)
    return ratio(r.items_s, peer.items_s if peer else None)


def shed_pct(r: Row) -> float | None:
    """Shed responses as a share of all responses wrk received."""
    return 100.0 * r.shed / r.responses if r.responses else None


def _num(v: float | None, fmt: str) -> str:
    return "-" if v is None else format(v, fmt)


def note(r: Row) -> str:
    """The non-200s by status and error code, and why a cell is missing or suspect."""
    if r.items_s is None:
        return f"NOT RUN: {r.note}"
    parts = [r.tally] if r.tally else []
    if r.procs_lost:
        parts.append(f"{r.procs_lost} server process(es) died or were replaced")
    if r.note:
        parts.append(r.note)
    if r.noisy:
        parts.append(f"noisy: others used {r.other_cpu_pct:.0f}% of the CPUs")
    if r.attempts > 1:
        parts.append(f"{r.attempts} attempts, quietest kept")
    return "; ".join(parts)


HEAD = (
    "store",
    "system",
    "key type",
    "op",
    "batch",
    "conns",
    "req/s",
    "items/s",
    "p50 ms",
    "p99 ms",
    "x bao",
    "conn",
    "read",
    "write",
    "tmout",
    "non2xx",
    "shed",
    "shed%",
    "500s",
    "srv cpu",
    "other%",
    "note",
)


def cells(rows: list[Row], r: Row) -> tuple[str, ...]:
    measured = r.items_s is not None

    def count(v: int) -> str:
        return str(v) if measured else "-"

    return (
        r.store or "-",
        r.system,
        r.key_type,
        r.op,
        str(r.batch),
        str(r.conns),
        _num(r.req_s, ",.0f"),
        _num(r.items_s, ",.0f"),
        _num(r.p50_ms, ".1f"),
        _num(r.p99_ms, ".1f"),
        _num(vs_bao(rows, r), ".2f"),
        count(r.err_connect),
        count(r.err_read),
        count(r.err_write),
        count(r.err_timeout),
        count(r.non2xx),
        count(r.shed),
        _num(shed_pct(r), ".2f"),
        count(r.s500),
        _num(r.server_cores, ".2f"),
        _num(r.other_cpu_pct, ".0f"),
        note(r),
    )


def table(rows: list[Row]) -> str:
    return render(HEAD, [cells(rows, r) for r in rows], {0, 1, 2, 3})


def progress_line(rows: list[Row], r: Row) -> str:
    if r.items_s is None:
        return f"  {r.store or r.system} {r.key_type} {r.op} b{r.batch} c{r.conns}: {note(r)}"
    x = vs_bao(rows, r)
    errs = r.err_connect + r.err_read + r.err_write
    return (
        f"  {r.store or r.system} {r.key_type} {r.op} b{r.batch} c{r.conns}: "
        f"{r.req_s or 0:,.0f} req/s {r.items_s:,.0f} items/s p50 {r.p50_ms or 0:.1f} "
        f"p99 {r.p99_ms or 0:.1f} ms"
        + ("" if x is None else f" x{x:.2f} bao")
        + f" sock {errs} tmout {r.err_timeout} non2xx {r.non2xx} shed {r.shed} 500s {r.s500}"
    )
