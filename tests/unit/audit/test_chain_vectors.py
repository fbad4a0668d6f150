"""The test vectors in docs/audit-format.md, checked twice: from the document's own
formulas (hashlib/hmac only) and through the chain and checkpoint code."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from strongroom.audit.chain import SegmentChain, link_value, record_body, record_hash, record_mac
from strongroom.audit.checkpoints import (
    CheckpointSigner,
    checkpoint_link,
    parse_heads,
    raw_public,
    signature_ok,
)
from strongroom.audit.verify import check_checkpoints, key_at

DOC = Path(__file__).parents[3] / "docs" / "audit-format.md"


def _vectors() -> dict[str, Any]:
    text = DOC.read_text(encoding="utf-8")
    block = re.search(r"## Test vectors.*?```json\n(.*?)```", text, re.S)
    assert block is not None, "no json block under '## Test vectors'"
    return dict(json.loads(block.group(1)))


V = _vectors()
SEG = V["segment"]


def _row(r: dict[str, Any]) -> dict[str, Any]:
    return {**r["row"], "ts": datetime.fromisoformat(r["row"]["ts"])}


@pytest.mark.parametrize("r", V["records"], ids=lambda r: f"seq{r['seq']}")
def test_record_vector_from_the_document(r: dict[str, Any]) -> None:
    key = bytes.fromhex(V["k0"])
    for _ in range(r["seq"]):
        key = hmac.new(key, b"sr-audit-evolve-1", hashlib.sha256).digest()
    assert key.hex() == r["key"]
    h = hashlib.sha256(b"sr-audit-rec-1\x00" + r["body"].encode()).digest()
    mac = hmac.new(key, b"sr-audit-mac-1\x00" + h, hashlib.sha256).digest()
    assert mac.hex() == r["mac"]
    link = bytes.fromhex(r["row"]["detail"]["voids"]) if "void_of_seq" in r else h
    assert link.hex() == r["hash"]


@pytest.mark.parametrize("r", V["records"], ids=lambda r: f"seq{r['seq']}")
def test_record_vector_through_the_code(r: dict[str, Any]) -> None:
    row = _row(r)
    body = record_body(SEG, r["seq"], bytes.fromhex(r["prev"]), row)
    assert body.decode() == r["body"]
    h = record_hash(body)
    assert record_mac(key_at(bytes.fromhex(V["k0"]), r["seq"]), h).hex() == r["mac"]
    assert link_value(row, h).hex() == r["hash"]


def test_chain_links_and_the_writer_reproduces_them() -> None:
    recs = V["records"]
    sealed_seq2, void_seq2, close = recs[2], recs[3], recs[4]
    assert recs[1]["prev"] == recs[0]["hash"] and recs[2]["prev"] == recs[1]["hash"]
    assert void_seq2["prev"] == sealed_seq2["prev"] and void_seq2["hash"] == sealed_seq2["hash"]
    assert close["prev"] == void_seq2["hash"]

    chain = SegmentChain(SEG, bytes.fromhex(V["k0"]))
    reservations = []
    for r in recs[:3]:
        out, res = chain.seal(_row(r))
        reservations.append(res)
        assert (out["hash"].hex(), out["mac"].hex()) == (r["hash"], r["mac"])
    void = chain.void(reservations[2], datetime.fromisoformat(void_seq2["row"]["ts"]))
    assert (void["hash"].hex(), void["mac"].hex()) == (void_seq2["hash"], void_seq2["mac"])
    out, _ = chain.seal(_row(close))
    assert out["mac"].hex() == close["mac"]


def test_checkpoint_vectors() -> None:
    k = V["checkpoint_key"]
    signer = CheckpointSigner(Ed25519PrivateKey.from_private_bytes(bytes.fromhex(k["seed"])))
    public = raw_public(signer.public)
    assert public.hex() == k["public"]
    assert hashlib.sha256(public).digest()[:16].hex() == k["key_id"] == signer.key_id
    cps = V["checkpoints"]
    for cp in cps:
        body = cp["body"].encode()
        assert signer.sign(body).hex() == cp["signature"]  # Ed25519 is deterministic
        assert signature_ok(signer.public, body, bytes.fromhex(cp["signature"]))
    link = hashlib.sha256(b"sr-audit-ckpt-link-1\x00" + cps[0]["body"].encode()).hexdigest()
    assert link == V["checkpoint_2_prev"] == checkpoint_link(cps[0]["body"].encode()).hex()
    assert json.loads(cps[1]["body"])["prev"] == link
    heads = parse_heads(cps[0]["body"])
    assert [(h.seg, h.seq, h.hash.hex(), h.state) for h in heads] == [
        (SEG, 3, V["records"][4]["hash"], "closed")
    ]

    class Row:
        def __init__(self, n: int, cp: dict[str, str]) -> None:
            self.number, self.key_id, self.body = n, k["key_id"], cp["body"]
            self.signature = bytes.fromhex(cp["signature"])

    found, attested = check_checkpoints([Row(1, cps[0]), Row(2, cps[1])], signer.public)
    assert found == [] and attested[SEG][-1].head.seq == 3 and attested[SEG][-1].checkpoint == 1
