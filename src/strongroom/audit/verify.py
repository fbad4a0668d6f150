"""Checks of a stored trail (pure; audit/queries.py loads the rows and calls these).

A segment is walked in seq order from its first MAC key: each record must take the
next seq, name its predecessor's link as ``prev`` and carry the MAC of its own hash.
The first record that does not is named, with a best guess of what happened to it.
Checkpoints are checked as a chain of signatures, then folded into one map of
attested heads; a segment whose records stop short of its attested head lost its
tail, and one that ends with neither a close record nor a recent heartbeat nor an
"abandoned" attestation may have lost records after the last checkpoint.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from strongroom.audit.actions import ChainAction
from strongroom.audit.chain import (
    ZERO,
    evolve,
    link_value,
    record_body,
    record_hash,
    record_mac,
)
from strongroom.audit.checkpoints import Head, checkpoint_link, key_id, raw_public, signature_ok

MAX_SHIFT = 16  # how far a renumbered record is looked for after a deletion


@dataclass(frozen=True)
class Finding:
    kind: str  # altered | deleted | inserted | reordered | checkpoint | truncated
    message: str
    segment: str | None = None
    seq: int | None = None
    record_id: int | None = None
    checkpoint: int | None = None


@dataclass(frozen=True)
class Attested:
    head: Head
    checkpoint: int


@dataclass
class VerifyReport:
    ok: bool = True
    records: int = 0
    segments: int = 0
    checkpoints: int = 0
    last_checkpoint: int | None = None
    unchained: int = 0
    findings: list[Finding] = field(default_factory=list)  # integrity, first bad first
    truncated: list[Finding] = field(default_factory=list)  # tails possibly cut
    seconds: float = 0.0

    @property
    def first_bad(self) -> Finding | None:
        return self.findings[0] if self.findings else None

    def finish(self) -> VerifyReport:
        big = 1 << 62
        self.findings.sort(key=lambda f: (f.record_id or big, f.checkpoint or 0))
        self.ok = not self.findings and not self.truncated
        return self


def key_at(k0: bytes, seq: int) -> bytes:
    key = k0
    for _ in range(seq):
        key = evolve(key)
    return key


def _mac_ok(key: bytes, h: bytes, mac: bytes | None) -> bool:
    return mac is not None and hmac.compare_digest(mac, record_mac(key, h))


def _shift(seg: str, row: dict[str, Any], key: bytes) -> int:
    """d > 0 if the record verifies as seq + d: d records before it were deleted and
    the later ones renumbered; 0 if not."""
    for d in range(1, MAX_SHIFT + 1):
        key = evolve(key)
        h = record_hash(record_body(seg, row["seq"] + d, row["prev_hash"] or b"", row))
        if _mac_ok(key, h, row["mac"]):
            return d
    return 0


def walk_segment(
    seg: str, rows: Sequence[dict[str, Any]], key: bytes, lo: int, anchor: bytes | None
) -> tuple[Finding | None, dict[int, bytes]]:
    """Walk records lo.. of one segment; ``key`` is k_lo, ``anchor`` the expected
    ``prev`` of seq lo (None: trust the stored one, for a range that starts mid-way).
    Returns the first finding and the link value of every record checked."""
    links: dict[int, bytes] = {}
    expected, prev, after_close = lo, anchor, False
    stored = {bytes(r["hash"]): r["seq"] for r in rows if r["hash"] is not None}
    for i, row in enumerate(rows):
        seq, rid = row["seq"], row["id"]

        def bad(kind: str, msg: str, seq: int = seq, rid: int = rid) -> Finding:
            return Finding(kind, msg, seg, seq, rid)

        if seq < expected:
            return bad("inserted", "a second record with an existing seq"), links
        if seq > expected:
            msg = f"records {expected}..{seq - 1} are missing before it"
            return bad("deleted", msg, seq=expected), links
        if after_close:
            return bad("inserted", "record after the segment's close record"), links
        row_prev = bytes(row["prev_hash"] or b"")
        h = record_hash(record_body(seg, seq, row_prev, row))
        mac_ok = _mac_ok(key, h, row["mac"])
        prev = row_prev if prev is None else prev
        if row_prev != prev:
            if row_prev in stored and stored[row_prev] != seq - 1:
                msg = f"chained after seq {stored[row_prev]}, not seq {seq - 1}: moved"
                return bad("reordered", msg), links
            d = _shift(seg, row, key)
            if d:
                msg = f"{d} record(s) before it deleted, later ones renumbered"
                return bad("deleted", msg), links
            kind = "altered" if mac_ok else "inserted"
            return bad(kind, "does not continue the chain from its predecessor"), links
        if not mac_ok:
            nxt = rows[i + 1] if i + 1 < len(rows) else None
            if nxt is not None and bytes(nxt["prev_hash"] or b"") == row_prev:
                return bad("inserted", "forged record: its successor skips it"), links
            return bad("altered", "MAC does not match its content"), links
        link = link_value(row, h)
        if row["hash"] is None or bytes(row["hash"]) != link:
            return bad("altered", "stored hash does not match the record"), links
        links[seq] = link
        prev, key, expected = link, evolve(key), expected + 1
        after_close = row["action"] == ChainAction.CLOSE
    return None, links


def check_checkpoints(
    rows: Sequence[Any], public: Ed25519PublicKey, first: int = 1
) -> tuple[list[Finding], dict[str, Attested]]:
    """Signature chain of the checkpoints (number, key_id, body, signature rows), folded
    into the attested head of each segment. Stops trusting at the first bad one.
    ``first`` > 1: the trail was archived up to that checkpoint (audit/archive.py),
    whose own link to its archived predecessor is then taken on its signature."""
    attested: dict[str, Attested] = {}
    kid, expected = key_id(raw_public(public)), first
    prev: bytes | None = ZERO if first == 1 else None
    for cp in rows:
        n = int(cp.number)

        def bad(msg: str, n: int = n) -> tuple[list[Finding], dict[str, Attested]]:
            return [Finding("checkpoint", f"checkpoint {n}: {msg}", checkpoint=n)], attested

        if n != expected:
            return bad(f"checkpoints {expected}..{n - 1} are missing")
        body = cp.body.encode()
        if cp.key_id != kid:
            return bad("signed by an unknown key")
        if not signature_ok(public, body, bytes(cp.signature)):
            return bad("signature does not verify (altered or replaced)")
        obj = json.loads(body)
        linked = prev is None or obj.get("prev") == prev.hex()
        if obj.get("n") != n or not linked or obj.get("key") != kid:
            return bad("does not follow the previous checkpoint")
        for h in obj["heads"]:
            head = Head(h["seg"], int(h["seq"]), bytes.fromhex(h["hash"]), h["state"])
            old = attested.get(head.seg)
            if old is not None and old.head.seq > head.seq:
                return bad(f"segment {head.seg} head went back from seq {old.head.seq}")
            attested[head.seg] = Attested(head, n)
        prev, expected = checkpoint_link(body), n + 1
    return [], attested


def check_tail(
    seg: str,
    rows: Sequence[dict[str, Any]],
    links: dict[int, bytes],
    att: Attested | None,
    heartbeat_s: float,
    now: datetime,
    archived_through: int = -1,
) -> tuple[Finding | None, Finding | None]:
    """(integrity finding, truncation finding) for a segment walked to its end
    (``archived_through``: its records up to that seq were archived)."""
    last = rows[-1] if rows else None
    last_seq = last["seq"] if last else archived_through
    if att is not None:
        head = att.head
        if head.seq > last_seq:
            n = att.checkpoint
            msg = f"records {last_seq + 1}..{head.seq} attested by checkpoint {n} are missing"
            rid = last["id"] if last else None
            return Finding("deleted", msg, seg, last_seq + 1, rid, n), None
        if head.seq in links and links[head.seq] != head.hash:  # else before a range
            rid = next((r["id"] for r in rows if r["seq"] == head.seq), None)
            msg = f"differs from the record checkpoint {att.checkpoint} attested"
            return Finding("altered", msg, seg, head.seq, rid, att.checkpoint), None
        if head.state == "abandoned" and head.seq == last_seq:
            return None, None  # the writer died; its tail was attested afterwards
    if last is None or last["action"] == ChainAction.CLOSE:
        return None, None
    if last["ts"] >= now - timedelta(seconds=2 * heartbeat_s + 5):
        return None, None  # live: its writer is still heartbeating
    covered = f"seq {att.head.seq}" if att else "nothing"
    msg = (
        f"no close record and no heartbeat since {last['ts'].isoformat()}: records after "
        f"seq {last_seq} may have been removed (the last checkpoint covers {covered})"
    )
    return None, Finding("truncated", msg, seg, last_seq, last["id"])


def heartbeat_of(open_row: dict[str, Any] | None, default: float = 60.0) -> float:
    if open_row is None or open_row["action"] != ChainAction.OPEN:
        return default
    value = (open_row["detail"] or {}).get("heartbeat_s", default)
    return float(value) if isinstance(value, int | float) else default
