"""The chain writer and the verifier's walk, on in-memory rows (no database)."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from strongroom.audit.actions import ChainAction
from strongroom.audit.chain import ZERO, SegmentChain, evolve, record_body, record_hash, system_row
from strongroom.audit.checkpoints import CheckpointSigner, Head, checkpoint_body, checkpoint_link
from strongroom.audit.online import check_tail
from strongroom.audit.verify import Attested, Run, check_checkpoints, check_heads, walk_segment

SEG = "ab" * 16
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def event(i: int) -> dict[str, Any]:
    return {
        "ts": T0 + timedelta(seconds=i),
        "request_id": f"r{i}",
        "actor": "ak_1",
        "tenant_id": "default",
        "action": "key.encrypt",
        "target": f"user-{i}",
        "outcome": "success",
        "item_count": i,
        "client_addr": "198.51.100.1",
        "detail": {"n": i},
    }


def trail(n: int = 10, close: bool = True) -> tuple[bytes, list[dict[str, Any]]]:
    k0 = os.urandom(32)
    chain = SegmentChain(SEG, k0)
    rows = [chain.seal(system_row(ChainAction.OPEN, T0, {"heartbeat_s": 60}))[0]]
    rows += [chain.seal(event(i))[0] for i in range(1, n)]
    if close:
        rows.append(chain.seal(system_row(ChainAction.CLOSE, T0 + timedelta(seconds=n), None))[0])
    for i, r in enumerate(rows):
        r["id"] = 100 + i
    return k0, rows


RUN = Run(SEG, 0, ZERO)


def walk(k0: bytes, rows: list[dict[str, Any]]) -> Any:
    return walk_segment(Run(SEG, 0, ZERO, k0), sorted(rows, key=lambda r: r["seq"]))[0]


def test_intact_trail_walks_clean() -> None:
    k0, rows = trail()
    found, links = walk_segment(Run(SEG, 0, ZERO, k0), rows)
    assert found is None and len(links) == len(rows)


def test_writer_keeps_only_the_current_key() -> None:
    k0 = os.urandom(32)
    chain = SegmentChain(SEG, k0)
    _, res = chain.seal(event(1))
    assert res.key == k0  # kept only until its transaction is decided
    held = [v for v in vars(chain).values() if isinstance(v, bytes) and len(v) == 32]
    assert k0 not in held and evolve(k0) in held


def test_edited_field_is_altered() -> None:
    k0, rows = trail()
    rows[4]["actor"] = "someone-else"
    f = walk(k0, rows)
    assert (f.kind, f.record_id, f.seq) == ("altered", 104, 4)


def test_deleted_record() -> None:
    k0, rows = trail()
    del rows[5]
    f = walk(k0, rows)
    assert (f.kind, f.seq, f.record_id) == ("deleted", 5, 106)


def test_deleted_and_renumbered() -> None:
    k0, rows = trail()
    del rows[5]
    for r in rows[5:]:
        r["seq"] -= 1
    f = walk(k0, rows)
    assert (f.kind, f.record_id) == ("deleted", 106)


def test_inserted_with_renumbering() -> None:
    k0, rows = trail()
    forged = {**event(99), "id": 999, "segment_id": SEG, "seq": 5, "prev_hash": rows[4]["hash"]}
    forged.update(hash=os.urandom(32), mac=os.urandom(32))
    for r in rows[5:]:
        r["seq"] += 1
    f = walk(k0, [*rows, forged])
    assert (f.kind, f.record_id) == ("inserted", 999)


def test_record_after_close_is_inserted() -> None:
    k0, rows = trail()
    extra = {**event(50), "id": 500, "seq": rows[-1]["seq"] + 1, "prev_hash": rows[-1]["hash"]}
    extra.update(hash=os.urandom(32), mac=os.urandom(32))
    f = walk(k0, [*rows, extra])
    assert (f.kind, f.record_id) == ("inserted", 500)


def test_swapped_records_are_reordered() -> None:
    k0, rows = trail()
    rows[3]["seq"], rows[4]["seq"] = 4, 3
    f = walk(k0, rows)
    assert (f.kind, f.record_id, f.seq) == ("reordered", 104, 3)


def test_void_replaces_a_rolled_back_record() -> None:
    k0 = os.urandom(32)
    chain = SegmentChain(SEG, k0)
    rows = [chain.seal(system_row(ChainAction.OPEN, T0, None))[0]]
    _, res = chain.seal(event(1))  # its transaction will roll back
    rows.append(chain.seal(event(2))[0])  # ... after this one chained onto it
    rows.append(chain.void(res, T0))
    for i, r in enumerate(rows):
        r["id"] = i
    assert walk(k0, rows) is None
    rows[2]["detail"] = {"voids": "00" * 32}  # cannot redirect the link without k_1
    assert walk(k0, rows).kind == "altered"


def test_tail_cut_below_the_attested_head_is_deleted() -> None:
    k0, rows = trail()
    _, links = walk_segment(Run(SEG, 0, ZERO, k0), rows)
    att = Attested(Head(SEG, 9, links[9], "open"), 3)
    found, cut, unconfirmed = check_tail(RUN, rows[:7], links, [att], 60, T0 + timedelta(days=1))
    assert found is not None and (found.kind, found.seq, found.checkpoint) == ("deleted", 7, 3)
    assert cut is None and unconfirmed is None


def test_unclosed_silent_segment_may_be_truncated() -> None:
    k0, rows = trail(close=False)
    _, links = walk_segment(Run(SEG, 0, ZERO, k0), rows)
    att = Attested(Head(SEG, 5, links[5], "open"), 1)
    later = rows[-1]["ts"] + timedelta(minutes=10)
    found, cut, _ = check_tail(RUN, rows, links, [att], 60, later)
    assert found is None and cut is not None and cut.seq == rows[-1]["seq"]
    gone = Attested(Head(SEG, 9, links[9], "abandoned"), 2)
    assert check_tail(RUN, rows, links, [gone], 60, later) == (None, None, None)  # crash, attested


def test_a_live_tail_is_unconfirmed_unless_anchored() -> None:
    k0, rows = trail(close=False)
    _, links = walk_segment(Run(SEG, 0, ZERO, k0), rows)
    last = rows[-1]
    covered = Attested(Head(SEG, last["seq"], links[last["seq"]], "open"), 4)
    now = last["ts"]  # its writer is still heartbeating, or the tail was cut just now
    # Without anchors even a tail every record of which a checkpoint covers is not
    # proven: the checkpoints after it may have been cut with it.
    tail = check_tail(RUN, rows, links, [covered], 60, now)
    assert tail.found is None and tail.truncated is None
    assert tail.unconfirmed is not None and tail.unconfirmed.seq == last["seq"]
    assert tail.unconfirmed.record_id == last["id"]
    # With anchors: records past the newest anchored head are unconfirmed ...
    tail = check_tail(RUN, rows, links, [covered], 60, now, anchored=5)
    assert tail.unconfirmed is not None and (tail.unconfirmed.seq, tail.found) == (6, None)
    assert tail.unconfirmed.record_id == next(r["id"] for r in rows if r["seq"] == 6)
    assert tail.unconfirmed.message.startswith(f"live segment: records 6..{last['seq']}")
    # ... and a tail the anchors cover is confirmed.
    assert check_tail(RUN, rows, links, [covered], 60, now, anchored=last["seq"]) == (None,) * 3
    # A closed segment ends with its MACed close record: nothing to confirm.
    k0, closed = trail()
    _, links = walk_segment(Run(SEG, 0, ZERO, k0), closed)
    assert check_tail(RUN, closed, links, [], 60, closed[-1]["ts"]) == (None, None, None)


def test_without_macs_a_break_is_altered() -> None:
    """The export check (no MAC keys): the same walk, breaks not diagnosed further."""
    k0, rows = trail()
    assert walk_segment(RUN, rows)[0] is None
    swapped = [dict(r) for r in rows]
    swapped[3]["seq"], swapped[4]["seq"] = 4, 3
    f = walk_segment(RUN, sorted(swapped, key=lambda r: r["seq"]))[0]
    assert f is not None and (f.kind, f.record_id) == ("altered", 104)
    assert f.message == "does not continue the chain from its predecessor"
    assert walk(k0, swapped).kind == "reordered"  # with the key: diagnosed
    edited = [dict(r) for r in rows]
    edited[4]["actor"] = "someone-else"
    f = walk_segment(RUN, edited)[0]
    assert f is not None and (f.record_id, f.message) == (104, "content does not match its hash")
    extra = {**event(50), "id": 500, "seq": rows[-1]["seq"] + 1, "prev_hash": rows[-1]["hash"]}
    extra["hash"] = record_hash(record_body(SEG, extra["seq"], extra["prev_hash"], extra))
    assert walk_segment(RUN, [*rows, extra])[0] is None  # a close record is not authentic
    assert walk(k0, [*rows, extra]).kind == "inserted"


def test_a_file_declares_its_range() -> None:
    _, rows = trail()
    declared = Run(SEG, 0, ZERO, hi=12)
    f, links = walk_segment(declared, rows)
    assert f is not None and (f.kind, f.seq, f.record_id) == ("deleted", 11, None)
    short = Run(SEG, 0, ZERO, hi=5)
    f, links = walk_segment(short, rows[:6])
    assert f is None
    heads = [
        Attested(Head(SEG, s, rows[s]["hash"], "open"), n) for n, s in ((1, 3), (2, 7), (3, 9))
    ]
    f = check_heads(short, rows[:6], links, heads)
    assert f is not None and f.message == "records 6..7 attested by checkpoint 2 are missing"
    assert f.record_id is None  # the file's range is short, not a record
    f = check_heads(RUN, rows[:6], links, heads)  # records that stop short: all of them
    assert f is not None and f.message == "records 6..9 attested by checkpoint 3 are missing"
    assert f.record_id == rows[5]["id"]


class Cp:
    def __init__(self, n: int, key_id: str, body: bytes, sig: bytes) -> None:
        self.number, self.key_id, self.body, self.signature = n, key_id, body.decode(), sig


def checkpoints(signer: CheckpointSigner, heads: list[list[Head]]) -> list[Cp]:
    out, prev = [], ZERO
    for n, hs in enumerate(heads, 1):
        body = checkpoint_body(n, T0, prev, signer.key_id, hs)
        out.append(Cp(n, signer.key_id, body, signer.sign(body)))
        prev = checkpoint_link(body)
    return out


def test_checkpoint_tampering() -> None:
    signer = CheckpointSigner(Ed25519PrivateKey.generate())
    h = [[Head(SEG, 3, b"\1" * 32, "open")], [Head(SEG, 7, b"\2" * 32, "open")], []]
    cps = checkpoints(signer, h)
    assert check_checkpoints(cps, signer.public)[0] == []

    edited = checkpoints(signer, h)
    edited[1].body = edited[1].body.replace('"seq":7', '"seq":8')
    assert check_checkpoints(edited, signer.public)[0][0].checkpoint == 2

    other = CheckpointSigner(Ed25519PrivateKey.generate())
    forged = checkpoints(signer, h)
    forged[1].signature = other.sign(forged[1].body.encode())  # replaced, same key id
    assert check_checkpoints(forged, signer.public)[0][0].checkpoint == 2

    found = check_checkpoints([cps[0], cps[2]], signer.public)[0]
    assert found[0].checkpoint == 3 and "missing" in found[0].message

    back = checkpoints(signer, [h[1][:], h[0][:]])
    assert "went back" in check_checkpoints(back, signer.public)[0][0].message

    # An export's wording (verify-export): one message for a wrong key id or signature.
    found = check_checkpoints(forged, signer.public, None, export=True)[0]
    assert found[0].message == "checkpoint 2: signature does not verify under the pinned key"
    assert check_checkpoints(cps[1:], signer.public, None)[0] == []  # starts mid-way
    assert check_checkpoints(cps[1:], signer.public)[0][0].checkpoint == 2  # not from 1
