"""Issue #14's acceptance, checked against bench/load.py's cells.

- At 1000 and 2000 connections, per store: no socket errors or timeouts, at most 1%
  shed (503 with Retry-After), no 500s (nor 503s without Retry-After); p99 < 1 s and
  items/s >= 90% of the series' peak at <= 256 connections, both at 1000.
- Single-item encrypt and decrypt at 64 connections >= 1.0x OpenBao's aes256-gcm96
  single encrypt req/s (aim 2x).
- Batch of 100, encrypt and decrypt: aes256-gcm >= 1.5x and x25519-hpke >= 1.0x
  OpenBao's aes256-gcm96 items/s (aim 2.5x); each system's peak over the batch
  connection counts.
- After the heaviest load: /readyz 200 quickly, a normal request works, audit verify 0.
"""

from __future__ import annotations

from dataclasses import dataclass

from srbench.loadreport import BAO_TYPE, ratio, shed_pct
from srbench.overload import READY_WITHIN_S, AfterOverload
from srbench.report import OPENBAO, STRONGROOM, Row

OVERLOAD_CONNS = (1000, 2000)
P99_CONNS, P99_LIMIT_MS = 1000, 1000.0
PEAK_MAX_CONNS, PEAK_SHARE = 256, 0.90
MAX_SHED_PCT = 1.0
SINGLE_CONNS, SINGLE_NEED, SINGLE_AIM = 64, 1.0, 2.0
BATCH_NEED = {"aes256-gcm": 1.5, "x25519-hpke": 1.0}
BATCH_AIM = 2.5


@dataclass
class Check:
    name: str
    measured: str
    required: str
    verdict: str  # MET, NOT MET (why), N/A (...), with " (noisy)" when others were busy


def _measured(r: Row | None) -> bool:
    return r is not None and r.items_s is not None


def _series(rows: list[Row], like: Row) -> list[Row]:
    return [
        r
        for r in rows
        if (r.system, r.store, r.key_type, r.op, r.batch)
        == (like.system, like.store, like.key_type, like.op, like.batch)
        and _measured(r)
    ]


def _noisy(verdict: str, *rows: Row | None) -> str:
    return f"{verdict} (noisy)" if any(r is not None and r.noisy for r in rows) else verdict


def _overload_failures(rows: list[Row], r: Row) -> tuple[list[str], str]:
    fails: list[str] = []
    sock = r.err_connect + r.err_read + r.err_write
    pct = shed_pct(r)
    if sock:
        fails.append(f"{sock} socket errors")
    if r.err_timeout:
        fails.append(f"{r.err_timeout} timeouts")
    if pct is None or pct > MAX_SHED_PCT:
        fails.append(f"shed {pct or 0:.2f}% > {MAX_SHED_PCT:g}%" if pct else "no responses")
    if r.s500:
        fails.append(f"{r.s500} x 500")
    if r.procs_lost:
        fails.append(f"{r.procs_lost} server processes died")
    if r.s503 > r.shed:
        fails.append(f"{r.s503 - r.shed} x 503 without Retry-After")
    text = f"sock {sock}, tmout {r.err_timeout}, shed {pct or 0:.2f}%, 500s {r.s500}"
    if r.conns == P99_CONNS:
        p99 = r.p99_ms or 0.0
        text += f", p99 {p99:,.0f} ms"
        if p99 >= P99_LIMIT_MS:
            fails.append(f"p99 {p99:,.0f} ms >= {P99_LIMIT_MS:,.0f}")
        low = [x for x in _series(rows, r) if x.conns <= PEAK_MAX_CONNS]
        peak = max(low, key=lambda x: x.items_s or 0.0, default=None)
        share = ratio(r.items_s, peak.items_s if peak else None)
        if share is None or peak is None:
            fails.append(f"no cell at <= {PEAK_MAX_CONNS} conns to compare")
        else:
            text += f", {share:.0%} of peak {peak.items_s or 0:,.0f} @c{peak.conns}"
            if share < PEAK_SHARE:
                fails.append(f"{share:.0%} of peak < {PEAK_SHARE:.0%}")
    return fails, text


def overload(rows: list[Row]) -> list[Check]:
    out = []
    for r in rows:
        if r.system != STRONGROOM or r.conns not in OVERLOAD_CONNS:
            continue
        name = f"{r.store} {r.key_type} b{r.batch} {r.op} @c{r.conns} holds up"
        required = "0 sock/tmout, shed<=1%, 0x500" + (
            ", p99<1s, >=90% peak@<=256" if r.conns == P99_CONNS else ""
        )
        if not _measured(r):
            out.append(Check(name, "-", required, "N/A (not measured)"))
            continue
        fails, text = _overload_failures(rows, r)
        verdict = "MET" if not fails else "NOT MET (" + "; ".join(fails) + ")"
        out.append(Check(name, text, required, _noisy(verdict, r)))
    return out


def _find(rows: list[Row], system: str, store: str, kt: str, op: str, b: int, c: int) -> Row | None:
    key = (system, store, kt, op, b, c)
    return next(
        (r for r in rows if (r.system, r.store, r.key_type, r.op, r.batch, r.conns) == key), None
    )


def _ratio_check(name: str, ours: Row | None, peer: Row | None, need: float, aim: float) -> Check:
    required = f">= {need:g}x (aim {aim:g}x)"
    if not (_measured(ours) and _measured(peer)) or ours is None or peer is None:
        return Check(name, "-", required, "N/A (not measured)")
    x = ratio(ours.items_s, peer.items_s) or 0.0
    measured = f"{ours.items_s or 0:,.0f} vs {peer.items_s or 0:,.0f} = {x:.2f}x"
    if ours.flagged or peer.flagged:
        verdict = "INVALID (non-200s or socket errors)"
    elif x >= need:
        verdict = "MET" + (", aim met" if x >= aim else "")
    else:
        verdict = "NOT MET"
    return Check(name, measured, required, _noisy(verdict, ours, peer))


def single(rows: list[Row], stores: list[str], key_types: list[str]) -> list[Check]:
    bao = _find(rows, OPENBAO, "", BAO_TYPE, "encrypt", 1, SINGLE_CONNS)
    out = []
    for store in stores:
        for kt in key_types:
            for op in ("encrypt", "decrypt"):
                ours = _find(rows, STRONGROOM, store, kt, op, 1, SINGLE_CONNS)
                name = f"{store} {kt} b1 {op} @c{SINGLE_CONNS} vs openbao b1 encrypt"
                out.append(_ratio_check(name, ours, bao, SINGLE_NEED, SINGLE_AIM))
    return out


def _peak(rows: list[Row], system: str, store: str, kt: str, op: str) -> Row | None:
    cands = [
        r
        for r in rows
        if (r.system, r.store, r.key_type, r.op, r.batch) == (system, store, kt, op, 100)
        and _measured(r)
        and not r.flagged
    ]
    return max(cands, key=lambda r: r.items_s or 0.0, default=None)


def batch(rows: list[Row], stores: list[str], key_types: list[str]) -> list[Check]:
    out = []
    for store in stores:
        for kt in key_types:
            need = BATCH_NEED.get(kt, 1.0)
            for op in ("encrypt", "decrypt"):
                ours = _peak(rows, STRONGROOM, store, kt, op)
                peer = _peak(rows, OPENBAO, "", BAO_TYPE, op)
                name = f"{store} {kt} b100 {op} peak items/s vs openbao {op}"
                out.append(_ratio_check(name, ours, peer, need, BATCH_AIM))
    return out


def after(results: list[AfterOverload]) -> list[Check]:
    out = []
    for a in results:
        seen = (
            f"no answer: {a.readyz_body}"
            if a.readyz_status is None or a.readyz_s is None
            else f"{a.readyz_status} in {a.readyz_s * 1000:.0f} ms"
        )
        ok = a.ready_quickly
        out.append(
            Check(
                f"{a.store} /readyz after overload",
                seen,
                f"200 in < {READY_WITHIN_S * 1000:.0f} ms",
                "MET" if ok else "NOT MET",
            )
        )
        req = "OK" if a.request_ok else f"FAILED: {a.request_error}"
        out.append(
            Check(f"{a.store} request after overload", req, "200, right result", _met(a.request_ok))
        )
        out.append(
            Check(
                f"{a.store} audit verify after overload",
                f"exit {a.verify_rc}: {a.verify_summary}",
                "exit 0",
                _met(a.verify_rc == 0),
            )
        )
    return out


def _met(ok: bool) -> str:
    return "MET" if ok else "NOT MET"


def format_checks(checks: list[Check]) -> str:
    if not checks:
        return "(none applicable to the cells run)"
    width = max(len(c.name) for c in checks)
    return "\n".join(
        f"{c.name.ljust(width)}  {c.verdict}\n{'':{width}}    {c.measured}  (need {c.required})"
        for c in checks
    )
