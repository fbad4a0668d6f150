"""Signed checkpoints over every segment's head (docs/audit-format.md).

Wire invariant (format 1):

    body      = canonical JSON of {"v": 1, "n", "ts" (µs), "prev", "key", "heads"}
                heads = [{"seg", "seq", "hash", "state"}] sorted by seg,
                state in "open" | "closed" | "abandoned"
    signature = Ed25519(sk, "sr-audit-ckpt-1" 0x00 || body)
    prev      = SHA-256("sr-audit-ckpt-link-1" 0x00 || previous body), zeros for n = 1
    key       = first 16 bytes of SHA-256(raw public key), hex

A checkpoint lists the segments that were open at the previous one plus those opened
since (less a margin for clock skew); a closed or abandoned segment drops out after
one listing, so checkpoints stay small however many segments accumulate. A verifier
folds them in order into one map segment -> head.

The signing key is wrapped by the KMS in ``service_keys`` and unwrapped at start-up
(like the access-key pepper); its public half is exported for auditors.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy.exc import IntegrityError

from strongroom.audit.actions import ChainAction
from strongroom.audit.chain import canonical_json, ts_micros
from strongroom.kms.interfaces import Kms
from strongroom.kms.secrets import service_secret
from strongroom.store import audit_repo
from strongroom.store.db import Database
from strongroom.store.models import AuditCheckpoint
from strongroom.store.service_keys import ServiceKeys

SIGNING_KEY_NAME = "audit-checkpoint-signing-key"
SIG_TAG = b"sr-audit-ckpt-1\x00"
LINK_TAG = b"sr-audit-ckpt-link-1\x00"
# One checkpoint writer at a time across the cluster (PostgreSQL advisory lock id).
ADVISORY_LOCK_ID = 0x5352_4155_4449_5401
OPEN_MARGIN = timedelta(minutes=5)


def key_id(public_raw: bytes) -> str:
    return hashlib.sha256(public_raw).digest()[:16].hex()


def public_from_pem(pem: bytes) -> Ed25519PublicKey:
    key = serialization.load_pem_public_key(pem)
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key")
    return key


def raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


@dataclass(frozen=True)
class Head:
    seg: str
    seq: int
    hash: bytes
    state: str  # open | closed | abandoned

    def as_json(self) -> dict[str, Any]:
        return {"seg": self.seg, "seq": self.seq, "hash": self.hash.hex(), "state": self.state}


def checkpoint_body(n: int, ts: datetime, prev: bytes, kid: str, heads: list[Head]) -> bytes:
    ordered = [h.as_json() for h in sorted(heads, key=lambda h: h.seg)]
    obj = {"v": 1, "n": n, "ts": ts_micros(ts), "prev": prev.hex(), "key": kid, "heads": ordered}
    return canonical_json(obj)


def checkpoint_link(body: bytes) -> bytes:
    return hashlib.sha256(LINK_TAG + body).digest()


def parse_heads(body: str) -> list[Head]:
    obj = json.loads(body)
    return [
        Head(h["seg"], int(h["seq"]), bytes.fromhex(h["hash"]), h["state"]) for h in obj["heads"]
    ]


def signature_ok(public: Ed25519PublicKey, body: bytes, signature: bytes) -> bool:
    try:
        public.verify(signature, SIG_TAG + body)
    except InvalidSignature:
        return False
    return True


class CheckpointSigner:
    def __init__(self, private: Ed25519PrivateKey) -> None:
        self._private = private
        self.public = private.public_key()
        self.key_id = key_id(raw_public(self.public))

    def sign(self, body: bytes) -> bytes:
        return self._private.sign(SIG_TAG + body)

    def public_pem(self) -> str:
        pem = self.public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return pem.decode()

    @classmethod
    async def load(cls, db: Database, kms: Kms) -> CheckpointSigner:
        """Unwrap the signing key, creating it on first start (first writer wins)."""
        raw = await service_secret(
            kms,
            ServiceKeys(db),
            SIGNING_KEY_NAME,
            lambda: Ed25519PrivateKey.generate().private_bytes_raw(),
        )
        return cls(Ed25519PrivateKey.from_private_bytes(raw))


@dataclass(frozen=True)
class Signed:
    """A checkpoint as written (audit_checkpoints), for the anchors once committed."""

    number: int
    ts: datetime
    key_id: str
    body: str
    signature: bytes


class Checkpointer:
    """Writes a checkpoint when asked; skips when another process holds the lock,
    when the last one is younger than ``min_age`` or when no head moved."""

    def __init__(self, db: Database, signer: CheckpointSigner, abandon_after_s: float) -> None:
        self._db, self._signer = db, signer
        self._abandon_after = timedelta(seconds=abandon_after_s)
        self._lock = asyncio.Lock()  # within the process (all SQLite needs)

    async def run(self, min_age_s: float = 0.0, now: datetime | None = None) -> Signed | None:
        """The checkpoint written (committed), or None if none was needed or allowed."""
        try:
            return await self._run(min_age_s, now)
        except IntegrityError:  # another writer took this number first (SQLite)
            return None

    async def _run(self, min_age_s: float, now: datetime | None) -> Signed | None:
        async with self._lock, self._db.transaction() as s:
            # One checkpointer at a time across replicas (SQLite has one writer anyway).
            if not self._db.is_sqlite and not await audit_repo.try_advisory_lock(
                s, ADVISORY_LOCK_ID
            ):
                return None
            now = now or datetime.now(UTC)
            last = await audit_repo.latest_checkpoint(s)
            if last is not None and (now - last.ts).total_seconds() < min_age_s:
                return None
            before = {h.seg: h for h in parse_heads(last.body)} if last else {}
            since = last.ts - OPEN_MARGIN if last else None
            candidates = {seg for seg, h in before.items() if h.state == "open"}
            candidates.update(await audit_repo.segments_opened_since(s, since))
            heads: list[Head] = []
            for seg in sorted(candidates):
                row = await audit_repo.segment_head(s, seg)
                if row is not None and row.hash is not None:
                    heads.append(self._head(seg, row, before.get(seg), now))
            if last is not None and set(heads) == set(before.values()):
                return None
            n = last.number + 1 if last else 1
            prev = checkpoint_link(last.body.encode()) if last else bytes(32)
            body = checkpoint_body(n, now, prev, self._signer.key_id, heads)
            signed = Signed(n, now, self._signer.key_id, body.decode(), self._signer.sign(body))
            s.add(
                AuditCheckpoint(
                    number=n,
                    ts=now,
                    key_id=signed.key_id,
                    body=signed.body,
                    signature=signed.signature,
                )
            )
        return signed

    def _head(self, seg: str, row: Any, before: Head | None, now: datetime) -> Head:
        if row.action == ChainAction.CLOSE:
            state = "closed"
        elif before is not None and before.seq == row.seq and now - row.ts > self._abandon_after:
            # Silent past many heartbeats and attested unchanged once before: the
            # writer died. Its tail up to here stays covered; it drops out next time.
            state = "abandoned"
        else:
            state = "open"
        return Head(seg, int(row.seq), bytes(row.hash), state)
