"""The anchor log against the database's checkpoints (audit/anchor_check.py), in
memory: only entries that verify on their own count; a checkpoint anchored but missing
or different in the database is a finding; one newer than the anchors is unconfirmed."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from strongroom.audit.anchor_check import compare, parse, read
from strongroom.audit.anchors import encode, entry
from strongroom.audit.checkpoints import CheckpointSigner, Head, Signed, checkpoint_body
from strongroom.audit.checkpoints import checkpoint_link as link
from strongroom.audit.verify import Heads

T0 = datetime(2026, 12, 1, tzinfo=UTC)
SEG = "cd" * 16
SIGNER = CheckpointSigner(Ed25519PrivateKey.generate())


def chain(n: int, signer: CheckpointSigner = SIGNER) -> list[Signed]:
    """Checkpoints 1..n, segment SEG's head moving by 10 records each time."""
    out: list[Signed] = []
    prev = bytes(32)
    for i in range(1, n + 1):
        head = Head(SEG, 10 * i, bytes([i]) * 32, "open")
        ts = T0 + timedelta(minutes=i)
        body = checkpoint_body(i, ts, prev, signer.key_id, [head])
        out.append(Signed(i, ts, signer.key_id, body.decode(), signer.sign(body)))
        prev = link(body)
    return out


def lines(cps: list[Signed]) -> list[str]:
    return [encode(entry(cp)).decode() for cp in cps]


def test_entries_verify_on_their_own() -> None:
    cps = chain(4)
    good = lines(cps)
    forged_sig = json.loads(good[1]) | {"signature": "00" * 64}
    wrong_digest = json.loads(good[2]) | {"digest": "11" * 32}
    other = lines(chain(1, CheckpointSigner(Ed25519PrivateKey.generate())))[0]
    log = parse(
        [good[0], json.dumps(forged_sig), json.dumps(wrong_digest), "{not json", other, ""],
        SIGNER.public,
        "mem",
    )
    assert set(log.anchors) == {1} and log.newest == 1
    assert [p.message for p in log.problems] == [
        "anchor log line 2: checkpoint 2: signature does not verify under the checkpoint key",
        "anchor log line 3: checkpoint 3: digest does not match its body",
        "anchor log line 4: not an anchor entry",
        "anchor log line 5: checkpoint 1: signature does not verify under the checkpoint key",
    ]
    assert all(p.kind == "anchor" for p in log.problems)


def test_a_second_different_checkpoint_of_one_number_is_a_problem() -> None:
    a = chain(1)[0]
    body = a.body.replace('"open"', '"closed"')
    twin = Signed(1, a.ts, a.key_id, body, SIGNER.sign(body.encode()))
    log = parse([*lines([a]), *lines([a]), *lines([twin])], SIGNER.public, "mem")
    assert [p.checkpoint for p in log.problems] == [1]  # a repeat of the same one is fine
    assert log.problems[0].message == "anchor log line 3: a second, different checkpoint 1"


def test_missing_different_and_unanchored_checkpoints() -> None:
    cps = chain(6)
    log = parse(lines(cps[:5]), SIGNER.public, "mem")  # anchored up to 5
    bodies = {cp.number: cp.body for cp in cps[:2]}  # the database was cut after 2 ...
    bodies[2] = cps[2].body  # ... and checkpoint 2 replaced
    attested: Heads = {}
    found, unconfirmed = compare(log, bodies, 1, attested)
    assert [(f.kind, f.checkpoint) for f in found] == [("checkpoint", 2), ("deleted", 3)]
    assert found[1].message.startswith("checkpoints 3..5 anchored at ")
    assert unconfirmed == []
    # The lost checkpoints' heads are attested now: the walk names the records cut.
    assert [a.checkpoint for a in attested[SEG]] == [3, 4, 5]
    # The database ahead of the anchors: unconfirmed, not a finding.
    found, unconfirmed = compare(log, {cp.number: cp.body for cp in cps}, 1, {})
    assert found == [] and [u.message for u in unconfirmed] == [
        "checkpoint 6 not in the anchor log yet (it ends at checkpoint 5)"
    ]
    # Archived checkpoints (before the chain's start) are not looked for.
    found, _ = compare(log, {5: cps[4].body, 6: cps[5].body}, 5, {})
    assert found == []


def test_a_missing_or_unreadable_file(tmp_path: Path) -> None:
    assert read(tmp_path / "none.jsonl", SIGNER.public).anchors == {}
    unreadable = read(tmp_path, SIGNER.public)  # a directory
    assert unreadable.unreadable is not None
    _, unconfirmed = compare(unreadable, {1: chain(1)[0].body}, 1, {})
    assert unconfirmed[0].message.startswith(f"anchor log {tmp_path} cannot be read")
