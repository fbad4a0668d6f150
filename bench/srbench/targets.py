"""The performance targets, evaluated from the measured rows."""

from __future__ import annotations

from dataclasses import dataclass

from srbench.report import OPENBAO, STRONGROOM, Row

THROUGHPUT_CONNS = 16
P99_CONNS = 64


@dataclass
class Target:
    name: str
    ours: float | None
    peer: float | None
    ratio: float | None
    required: str
    verdict: str


def _find(rows: list[Row], key: tuple[str, str, str, int, int]) -> Row | None:
    return next((r for r in rows if r.key() == key), None)


def _verdict(a: Row | None, b: Row | None, ok: bool) -> str:
    if a is None or b is None or a.items_s is None or b.items_s is None:
        return "N/A (not measured)"
    if a.flagged or b.flagged:
        return "INVALID (non-200s or errors)"
    verdict = "MET" if ok else "NOT MET"
    return f"{verdict} (noisy)" if a.noisy or b.noisy else verdict


def throughput(
    rows: list[Row], sr_type: str, peer_type: str, op: str, factor: float, conns: int
) -> Target:
    a = _find(rows, (STRONGROOM, sr_type, op, 100, conns))
    b = _find(rows, (OPENBAO, peer_type, op, 100, conns))
    ours = a.items_s if a else None
    peer = b.items_s if b else None
    ratio = ours / peer if ours and peer else None
    name = f"{sr_type} b100 {op} items/s vs {factor:g}x openbao {peer_type}"
    ok = ratio is not None and ratio >= factor
    return Target(name, ours, peer, ratio, f">= {factor:g}x", _verdict(a, b, ok))


def p99(rows: list[Row], sr_type: str, peer_type: str, conns: int) -> Target:
    a = _find(rows, (STRONGROOM, sr_type, "encrypt", 1, conns))
    b = _find(rows, (OPENBAO, peer_type, "encrypt", 1, conns))
    ours = a.p99_ms if a else None
    peer = b.p99_ms if b else None
    ratio = ours / peer if ours and peer else None
    name = f"{sr_type} b1 encrypt p99 @c{conns} vs openbao {peer_type}"
    ok = ratio is not None and ratio <= 1.0
    return Target(name, ours, peer, ratio, "<= 1.0x (p99 ms)", _verdict(a, b, ok))


def evaluate(
    rows: list[Row], conns: int = THROUGHPUT_CONNS, p99_conns: int = P99_CONNS
) -> list[Target]:
    out = []
    for op in ("encrypt", "decrypt"):
        out.append(throughput(rows, "aes256-gcm", "aes256-gcm96", op, 1.0, conns))
    for op in ("encrypt", "decrypt"):
        out.append(throughput(rows, "x25519-hpke", "aes256-gcm96", op, 0.5, conns))
        out.append(throughput(rows, "x25519-hpke", "rsa-2048", op, 5.0, conns))
    for sr_type in ("x25519-hpke", "aes256-gcm"):
        for peer in ("aes256-gcm96", "rsa-2048"):
            out.append(p99(rows, sr_type, peer, p99_conns))
    return out


def _fmt(v: float | None) -> str:
    return "-" if v is None else f"{v:,.2f}" if v < 100 else f"{v:,.0f}"


def format_targets(targets: list[Target]) -> str:
    width = max(len(t.name) for t in targets)
    lines = []
    for t in targets:
        ratio = "-" if t.ratio is None else f"{t.ratio:.3f}x"
        lines.append(
            f"{t.name.ljust(width)}  ours={_fmt(t.ours):>9}  peer={_fmt(t.peer):>9}"
            f"  ratio={ratio:>7}  (need {t.required})  {t.verdict}"
        )
    return "\n".join(lines)
