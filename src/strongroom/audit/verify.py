"""The one walk over a trail, for both verifiers (pure: the callers read the rows).

``audit/online.py`` feeds it the database's rows with each segment's MAC key
(``strongroom audit verify``, ``GET /api/v1/audit/verify``); ``audit/offline.py`` feeds
it an export file's rows without (``strongroom audit verify-export``). The walk:

* checks the checkpoints as a chain of signatures and folds them into the heads they
  attest, per segment in seq order (``check_checkpoints``);
* walks a segment in seq order: each record must take the next seq, name its
  predecessor's link as ``prev`` and hash to its stored hash (``walk_segment``). With
  the MAC key it must also carry the MAC of that hash, and a break is diagnosed
  (deleted and renumbered, inserted, reordered, after the close record); without, the
  stored fields prove nothing about what happened and a break is "altered";
* holds what was walked against the attested heads (``check_heads``).

It stops at a segment's first bad record. Where the two commands always worded a
finding differently, each keeps its words (their output is a contract). Whether a
silent, unclosed segment lost its tail needs the clock and the database, so
``audit/online.py`` judges that.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

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
from strongroom.audit.findings import Finding

MAX_SHIFT = 16  # how far a renumbered record is looked for after a deletion
TICK = 1000  # a walk tells how far it got every TICK records (a segment may hold millions)


class CheckpointRow(Protocol):
    """A stored checkpoint (audit_checkpoints), from the database or an export line."""

    @property
    def number(self) -> int: ...
    @property
    def key_id(self) -> str: ...
    @property
    def body(self) -> str: ...
    @property
    def signature(self) -> bytes: ...


@dataclass(frozen=True)
class Attested:
    head: Head
    checkpoint: int


Heads = dict[str, list[Attested]]  # segment -> attested heads, ascending seq


@dataclass(frozen=True)
class Run:
    """What a caller knows of one segment before walking its records."""

    seg: str
    lo: int  # the seq the first record must have
    anchor: bytes | None  # the ``prev`` seq lo must have; None: trust the stored one
    key: bytes | None = None  # k_lo: MACs are checked only with it
    hi: int | None = None  # the last seq a file declares; None: wherever the records end


def key_at(k0: bytes, seq: int) -> bytes:
    key = k0
    for _ in range(seq):
        key = evolve(key)
    return key


def check_checkpoints(
    rows: Iterable[CheckpointRow],
    public: Ed25519PublicKey,
    first: int | None = 1,
    *,
    export: bool = False,
) -> tuple[list[Finding], Heads]:
    """Signature chain of the checkpoints, folded into the heads each segment had
    attested. Stops trusting at the first bad one. The chain starts at ``first``
    (> 1: the trail was archived up to it, audit/archive.py; None: wherever an export
    file's range starts); a first checkpoint other than number 1 is taken on its
    signature alone. ``export``: one wording for a wrong key id or signature, as
    ``verify-export`` has always printed."""
    attested: Heads = {}
    kid, expected = key_id(raw_public(public)), first
    prev: bytes | None = None
    for cp in rows:
        n = int(cp.number)

        def bad(msg: str, n: int = n) -> tuple[list[Finding], Heads]:
            return [Finding("checkpoint", f"checkpoint {n}: {msg}", checkpoint=n)], attested

        expected = n if expected is None else expected
        if n != expected:
            return bad(f"checkpoints {expected}..{n - 1} are missing")
        body = cp.body.encode()
        signed = signature_ok(public, body, bytes(cp.signature))
        if export and (cp.key_id != kid or not signed):
            return bad("signature does not verify under the pinned key")
        if cp.key_id != kid:
            return bad("signed by an unknown key")
        if not signed:
            return bad("signature does not verify (altered or replaced)")
        obj = json.loads(body)
        want = prev if prev is not None else (ZERO if n == 1 else None)
        linked = want is None or obj.get("prev") == want.hex()
        if obj.get("n") != n or not linked or obj.get("key") != kid:
            return bad("does not follow the previous checkpoint")
        for h in obj["heads"]:
            head = Head(h["seg"], int(h["seq"]), bytes.fromhex(h["hash"]), h["state"])
            heads = attested.setdefault(head.seg, [])
            if heads and heads[-1].head.seq > head.seq:
                return bad(f"segment {head.seg} head went back from seq {heads[-1].head.seq}")
            if heads and heads[-1].head.seq == head.seq:
                heads.pop()  # attested again: the newest state and checkpoint count
            heads.append(Attested(head, n))
        prev, expected = checkpoint_link(body), n + 1
    return [], attested


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


def _broken(
    run: Run, rows: Sequence[dict[str, Any]], i: int, key: bytes | None, h: bytes
) -> tuple[str, str]:
    """(kind, message) for record i, whose ``prev`` is not the link expected."""
    row, seq = rows[i], rows[i]["seq"]
    if key is None:  # no MAC: the stored fields prove nothing about what happened
        if i > 0:
            return "altered", "does not continue the chain from its predecessor"
        if run.lo == 0:
            return "altered", "first record of the segment has a predecessor"
        return "altered", "does not continue from the head a checkpoint attests"
    row_prev = bytes(row["prev_hash"] or b"")
    stored = {bytes(r["hash"]): r["seq"] for r in rows if r["hash"] is not None}
    if row_prev in stored and stored[row_prev] != seq - 1:
        return "reordered", f"chained after seq {stored[row_prev]}, not seq {seq - 1}: moved"
    d = _shift(run.seg, row, key)
    if d:
        return "deleted", f"{d} record(s) before it deleted, later ones renumbered"
    kind = "altered" if _mac_ok(key, h, row["mac"]) else "inserted"
    return kind, "does not continue the chain from its predecessor"


def walk_segment(
    run: Run, rows: Sequence[dict[str, Any]], tick: Callable[[int], None] | None = None
) -> tuple[Finding | None, dict[int, bytes]]:
    """Walk one segment's records (audit_records columns, seq order) from ``run.lo``.
    Returns the first finding and the link value of every record checked; ``tick``
    hears how many were checked every ``TICK`` records."""
    seg, key = run.seg, run.key
    links: dict[int, bytes] = {}
    expected, prev, after_close = run.lo, run.anchor, False
    for i, row in enumerate(rows):
        seq, rid = row["seq"], row["id"]

        def bad(
            kind: str, msg: str, seq: int = seq, rid: int = rid
        ) -> tuple[Finding, dict[int, bytes]]:
            return Finding(kind, msg, seg, seq, rid), links

        if seq < expected:
            return bad("inserted", "a second record with an existing seq")
        if seq > expected:
            return bad("deleted", f"records {expected}..{seq - 1} are missing before it", expected)
        if after_close:
            return bad("inserted", "record after the segment's close record")
        row_prev = bytes(row["prev_hash"] or b"")
        h = record_hash(record_body(seg, seq, row_prev, row))
        if prev is not None and row_prev != prev:
            return bad(*_broken(run, rows, i, key, h))
        if key is not None and not _mac_ok(key, h, row["mac"]):
            nxt = rows[i + 1] if i + 1 < len(rows) else None
            if nxt is not None and bytes(nxt["prev_hash"] or b"") == row_prev:
                return bad("inserted", "forged record: its successor skips it")
            return bad("altered", "MAC does not match its content")
        link = link_value(row, h)
        if row["hash"] is None or bytes(row["hash"]) != link:
            # With the MAC the content is authentic, so the stored hash is what changed.
            if key is None:
                return bad("altered", "content does not match its hash")
            return bad("altered", "stored hash does not match the record")
        links[seq], prev, expected = link, link, expected + 1
        if key is not None:  # only a MAC makes the close record authentic
            key, after_close = evolve(key), row["action"] == ChainAction.CLOSE
        if tick is not None and (i + 1) % TICK == 0:
            tick(i + 1)
    if run.hi is not None and expected != run.hi + 1:
        msg = f"records {expected}..{run.hi} declared but missing"
        return Finding("deleted", msg, seg, expected), links
    return None, links


def check_heads(
    run: Run, rows: Sequence[dict[str, Any]], links: dict[int, bytes], heads: Sequence[Attested]
) -> Finding | None:
    """Hold a segment walked to its end against the heads checkpoints attested: a
    record there must have the attested link, and none may be missing up to the
    newest head (a file's declared range, else the records, end at seq ``end``)."""
    end = run.hi if run.hi is not None else (rows[-1]["seq"] if rows else run.lo - 1)
    for a in heads:
        if a.head.seq > end:
            # A file's declared range is at fault: named by the first signed head past
            # it. Records that stop short: the newest head tells how many were lost.
            named = a if run.hi is not None else heads[-1]
            rid = rows[-1]["id"] if rows and run.hi is None else None
            n = named.checkpoint
            msg = f"records {end + 1}..{named.head.seq} attested by checkpoint {n} are missing"
            return Finding("deleted", msg, run.seg, end + 1, rid, n)
        if a.head.seq in links and links[a.head.seq] != a.head.hash:  # else before the walk
            rid = next((r["id"] for r in rows if r["seq"] == a.head.seq), None)
            msg = f"differs from the record checkpoint {a.checkpoint} attested"
            return Finding("altered", msg, run.seg, a.head.seq, rid, a.checkpoint)
    return None
