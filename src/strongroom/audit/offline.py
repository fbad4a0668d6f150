"""Offline check of an export or archive file (docs/audit-format.md "Export").

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
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from strongroom.audit.chain import ZERO, link_value, record_body, record_hash
from strongroom.audit.checkpoints import (
    checkpoint_link,
    key_id,
    raw_public,
    signature_ok,
)
from strongroom.audit.export_format import row_of


@dataclass(frozen=True)
class Problem:
    kind: str  # altered | deleted | inserted | checkpoint | format
    message: str
    record_id: int | None = None
    segment: str | None = None
    seq: int | None = None
    checkpoint: int | None = None

    def describe(self) -> str:
        where = f"record id {self.record_id}" if self.record_id is not None else "file"
        if self.segment is not None:
            where += f" (segment {self.segment} seq {self.seq})"
        return f"{where}: {self.kind}: {self.message}"


@dataclass
class OfflineReport:
    records: int = 0
    covered: int = 0  # bound to a checkpoint signature
    uncovered: int = 0  # after the last attested head of their segment
    unchained: int = 0  # written before the chain existed: nothing to check
    segments: int = 0
    checkpoints: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_lines(lines: Iterable[str], public: Ed25519PublicKey) -> OfflineReport:
    report = OfflineReport()
    header: dict[str, Any] | None = None
    end: dict[str, Any] | None = None
    declared: dict[str, dict[str, Any]] = {}
    runs: dict[str, list[dict[str, Any]]] = {}
    cps: list[dict[str, Any]] = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            kind = obj["type"]
        except (ValueError, KeyError, TypeError):
            report.problems.append(Problem("format", f"line {n} is not an export line"))
            return report
        if kind == "export":
            header = obj
        elif kind == "segment":
            declared[obj["seg"]] = obj
        elif kind == "record":
            report.records += 1
            if obj.get("seg") is None:
                report.unchained += 1
            else:
                runs.setdefault(obj["seg"], []).append(obj)
        elif kind == "checkpoint":
            cps.append(obj)
        elif kind == "end":
            end = obj
    if header is None or header.get("format") != 1:
        report.problems.append(Problem("format", "no format-1 export header"))
        return report
    if end is None or end.get("records") != report.records or end.get("checkpoints") != len(cps):
        report.problems.append(Problem("format", "file truncated or lines removed (end line)"))
    attested = _checkpoints(cps, public, report)
    for seg in sorted(set(runs) | set(declared)):
        _segment(seg, runs.get(seg, []), declared.get(seg), attested.get(seg, {}), report)
    report.segments = len(set(runs) | set(declared))
    report.checkpoints = len(cps)
    return report


def _checkpoints(
    cps: list[dict[str, Any]], public: Ed25519PublicKey, report: OfflineReport
) -> dict[str, dict[int, tuple[bytes, int]]]:
    """seg -> {seq: (hash, checkpoint)} over the checkpoints that verify."""
    kid = key_id(raw_public(public))
    attested: dict[str, dict[int, tuple[bytes, int]]] = {}
    prev: bytes | None = None
    expected: int | None = None
    for cp in cps:
        n = int(cp["number"])
        body = str(cp["body"]).encode()

        def bad(msg: str, n: int = n) -> None:
            report.problems.append(Problem("checkpoint", f"checkpoint {n}: {msg}", checkpoint=n))

        if expected is not None and n != expected:
            bad(f"checkpoints {expected}..{n - 1} are missing")
            return attested
        signature = bytes.fromhex(str(cp["signature"]))
        if cp.get("key_id") != kid or not signature_ok(public, body, signature):
            bad("signature does not verify under the pinned key")
            return attested
        obj = json.loads(body)
        # The first checkpoint of a file that starts after archival is trusted for its
        # signature alone; number 1 must start from zeros.
        want = prev if prev is not None else (ZERO if n == 1 else None)
        if obj.get("n") != n or (want is not None and obj.get("prev") != want.hex()):
            bad("does not follow the previous checkpoint")
            return attested
        for h in obj["heads"]:
            attested.setdefault(h["seg"], {})[int(h["seq"])] = (bytes.fromhex(h["hash"]), n)
        prev, expected = checkpoint_link(body), n + 1
    return attested


def _segment(
    seg: str,
    run: list[dict[str, Any]],
    declared: dict[str, Any] | None,
    attested: dict[int, tuple[bytes, int]],
    report: OfflineReport,
) -> None:
    def bad(kind: str, msg: str, r: dict[str, Any] | None = None, seq: int | None = None) -> None:
        rid = r["id"] if r else None
        seq = seq if seq is not None else (r["seq"] if r else None)
        report.problems.append(Problem(kind, msg, rid, seg, seq))

    if declared is None:
        return bad("inserted", "records of a segment the export does not declare", run[0])
    lo, hi = int(declared["first_seq"]), int(declared["last_seq"])
    links: dict[int, bytes] = {}
    expected, prev = lo, None
    for r in run:
        seq = int(r["seq"])
        if seq < expected:
            return bad("inserted", "a second record with an existing seq", r)
        if seq > expected:
            msg = f"records {expected}..{seq - 1} are missing before it"
            return bad("deleted", msg, r, seq=expected)
        row = row_of(r)
        row_prev = bytes.fromhex(r["prev"])
        if prev is None and seq == 0 and row_prev != ZERO:
            return bad("altered", "first record of the segment has a predecessor", r)
        if prev is None and seq - 1 in attested and row_prev != attested[seq - 1][0]:
            return bad("altered", "does not continue from the head a checkpoint attests", r)
        if prev is not None and row_prev != prev:
            return bad("altered", "does not continue the chain from its predecessor", r)
        h = record_hash(record_body(seg, seq, row_prev, row))
        link = link_value(row, h)
        if bytes.fromhex(r["hash"]) != link:
            return bad("altered", "content does not match its hash", r)
        links[seq], prev, expected = link, link, seq + 1
    if expected != hi + 1:
        return bad("deleted", f"records {expected}..{hi} declared but missing", seq=expected)
    top = -1
    for seq, (h, n) in sorted(attested.items()):
        if seq > hi:
            msg = f"records {hi + 1}..{seq} attested by checkpoint {n} are missing"
            return bad("deleted", msg, seq=hi + 1)
        if seq >= lo:
            if links[seq] != h:
                r = next(x for x in run if int(x["seq"]) == seq)
                return bad("altered", f"differs from the record checkpoint {n} attested", r)
            top = max(top, seq)
    report.covered += max(0, top - lo + 1)
    report.uncovered += hi - max(top, lo - 1)
