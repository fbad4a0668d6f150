"""Offline check of an export or archive file (docs/audit-format.md "Export"): its
lines through audit/verify.py's walk, without MAC keys.

Needs the file and the pinned checkpoint public key only: no database, no KMS. What
it can check without a segment's first MAC key k0:

* every record's hash is recomputed from its fields, and links to its predecessor;
* the checkpoints form an unbroken chain of Ed25519 signatures under the pinned key;
* every head a checkpoint attests that falls inside the exported records matches the
  record there, so each record up to a segment's last attested head is bound to a
  signature (a change there needs a forged signature, not just recomputed hashes).

What it cannot: the MACs (they need k0, which only the KMS unwraps; `strongroom audit
verify` checks them in the database), and records after a segment's last attested
head, which are reported as not covered.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from strongroom.audit import verify as v
from strongroom.audit.chain import ZERO
from strongroom.audit.export_format import row_of
from strongroom.audit.findings import Finding, OfflineReport
from strongroom.observability.progress import Progress


class Checkpoint(NamedTuple):
    number: int
    key_id: str
    body: str
    signature: bytes


class _File:
    """The lines of one file, sorted by type."""

    def __init__(self) -> None:
        self.header: dict[str, Any] | None = None
        self.end: dict[str, Any] | None = None
        self.declared: dict[str, dict[str, Any]] = {}
        self.runs: dict[str, list[dict[str, Any]]] = {}
        self.cps: list[Checkpoint] = []
        self.records = self.unchained = 0

    def add(self, obj: dict[str, Any]) -> None:
        kind = obj["type"]
        if kind == "export":
            self.header = obj
        elif kind == "segment":
            self.declared[obj["seg"]] = obj
        elif kind == "record":
            self.records += 1
            if obj.get("seg") is None:
                self.unchained += 1
            else:
                self.runs.setdefault(obj["seg"], []).append(_row(obj))
        elif kind == "checkpoint":
            sig = bytes.fromhex(str(obj["signature"]))
            self.cps.append(
                Checkpoint(int(obj["number"]), str(obj.get("key_id")), str(obj["body"]), sig)
            )
        elif kind == "end":
            self.end = obj


def _row(line: dict[str, Any]) -> dict[str, Any]:
    """A record line as the audit_records columns the walk reads (no MAC offline)."""
    prev = bytes.fromhex(line["prev"]) if line["prev"] is not None else None
    stored = bytes.fromhex(line["hash"]) if line["hash"] is not None else None
    row = row_of(line)
    row.update(id=line["id"], seq=int(line["seq"]), prev_hash=prev, hash=stored, mac=None)
    return row


def verify_lines(
    lines: Iterable[str], public: Ed25519PublicKey, progress: Progress | None = None
) -> OfflineReport:
    """``progress`` hears how many of the file's chained records were walked."""
    report, f = OfflineReport(), _File()
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            f.add(json.loads(line))
        except (ValueError, KeyError, TypeError):
            report.findings.append(Finding("format", f"line {n} is not an export line"))
            break
    report.records, report.unchained = f.records, f.unchained
    if report.findings:
        return report.finish()
    if f.header is None or f.header.get("format") != 1:
        report.findings.append(Finding("format", "no format-1 export header"))
        return report.finish()
    end = f.end
    if end is None or end.get("records") != f.records or end.get("checkpoints") != len(f.cps):
        msg = "file truncated or lines removed (end line)"
        report.findings.append(Finding("format", msg))
    found, attested = v.check_checkpoints(f.cps, public, None, export=True)
    report.findings += found
    names = sorted(set(f.runs) | set(f.declared))
    total, walked = sum(len(rows) for rows in f.runs.values()), 0

    def tick(n: int) -> None:
        if progress is not None:
            progress(walked + n, total)

    tick(0)
    for seg in names:
        rows = f.runs.get(seg, [])
        _segment(report, seg, rows, f.declared.get(seg), attested.get(seg, []), tick)
        walked += len(rows)
        tick(0)
    report.segments, report.checkpoints = len(names), len(f.cps)
    report.last_checkpoint = f.cps[-1].number if f.cps else None
    return report.finish()


def _segment(
    report: OfflineReport,
    seg: str,
    rows: list[dict[str, Any]],
    declared: dict[str, Any] | None,
    heads: list[v.Attested],
    tick: Callable[[int], None] | None,
) -> None:
    if declared is None:
        msg = "records of a segment the export does not declare"
        report.findings.append(Finding("inserted", msg, seg, rows[0]["seq"], rows[0]["id"]))
        return
    lo, hi = int(declared["first_seq"]), int(declared["last_seq"])
    # Seq 0 starts from zeros; a run that starts later continues from the head a
    # checkpoint attested just before it, if one did.
    before = {a.head.seq: a.head.hash for a in heads}.get(lo - 1)
    run = v.Run(seg, lo, ZERO if lo == 0 else before, hi=hi)
    found, links = v.walk_segment(run, rows, tick)
    found = found or v.check_heads(run, rows, links, heads)
    if found is not None:
        report.findings.append(found)
        return
    top = max((a.head.seq for a in heads if a.head.seq >= lo), default=-1)
    report.covered += max(0, top - lo + 1)
    report.uncovered += hi - max(top, lo - 1)
