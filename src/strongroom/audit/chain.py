"""Forward-secure hash chain of one writer segment (docs/audit-format.md). Pure: no I/O.

Wire invariant (format 1; changing any of this breaks every stored trail):

    body   = canonical JSON (sorted keys, no spaces, ASCII) of
             {"v", "seg", "seq", "prev", "ts", "rid", "actor", "tenant", "action",
              "target", "outcome", "items", "addr", "detail"}
    h_i    = SHA-256("sr-audit-rec-1" 0x00 || body)
    mac_i  = HMAC-SHA256(k_i, "sr-audit-mac-1" 0x00 || h_i)
    k_i+1  = HMAC-SHA256(k_i, "sr-audit-evolve-1")

``prev`` is the link value of record i-1 (32 zero bytes for seq 0). The link value
of a record is h_i, except for a void record (a record whose transaction rolled
back after later records had chained onto it): its link is the voided h_i, which it
carries in ``detail.voids`` under its own MAC.

Only the current key lives in the writer: k_i is replaced by k_i+1 as soon as record
i is sealed (Python cannot scrub immutable bytes, so "replaced" is best effort), and
kept aside only while record i's transaction is undecided, to void it on rollback.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from json.encoder import encode_basestring_ascii
from typing import Any, NamedTuple

from strongroom.audit.actions import ChainAction

FORMAT = 1
ZERO = bytes(32)
REC_TAG = b"sr-audit-rec-1\x00"
MAC_TAG = b"sr-audit-mac-1\x00"
EVOLVE_TAG = b"sr-audit-evolve-1"

SYSTEM_ACTOR = "system:audit"


_ENCODER = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def canonical_json(obj: Any) -> bytes:
    return _ENCODER.encode(obj).encode()


def ts_micros(ts: datetime) -> int:
    """Microseconds since the epoch, UTC (naive datetimes are taken as UTC)."""
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    return (ts - _EPOCH) // _MICROSECOND


# audit_records column -> its name in a record body and an export line (one table,
# so the chain and the export cannot drift apart).
WIRE_NAMES = (
    ("request_id", "rid"),
    ("actor", "actor"),
    ("tenant_id", "tenant"),
    ("action", "action"),
    ("target", "target"),
    ("outcome", "outcome"),
    ("item_count", "items"),
    ("client_addr", "addr"),
    ("detail", "detail"),
)


def wire_fields(row: dict[str, Any]) -> dict[str, Any]:
    """The record's content under its wire names, time in microseconds."""
    return {"ts": ts_micros(row["ts"]), **{wire: row[col] for col, wire in WIRE_NAMES}}


def canonical_body(seg: str, seq: int, prev: bytes, row: dict[str, Any]) -> bytes:
    """The definition of a record's hashed body (``record_body`` is its fast path)."""
    return canonical_json(
        {"v": FORMAT, "seg": seg, "seq": seq, "prev": prev.hex(), **wire_fields(row)}
    )


def _text(v: Any) -> str | None:
    """``v`` as canonical JSON if it is a plain str or None, else None (not handled)."""
    if v is None:
        return "null"
    return encode_basestring_ascii(v) if type(v) is str else None


def _whole(v: Any) -> str | None:
    if v is None:
        return "null"
    return int.__repr__(v) if type(v) is int else None  # bool is not an int here


def record_body(seg: str, seq: int, prev: bytes, row: dict[str, Any]) -> bytes:
    """The hashed body of one record; ``row`` has the audit_records column names.

    Byte for byte ``canonical_body`` (a property test holds them equal), built from the
    keys' fixed sorted order instead of a generic sorted encode: sealing runs once per
    audited request, and the generic encoder was most of its cost. Values of any other
    type than the columns hold (str/int/None, a dict for detail) take the generic path.
    """
    texts = [
        _text(row["action"]),
        _text(row["actor"]),
        _text(row["client_addr"]),
        _whole(row["item_count"]),
        _text(row["outcome"]),
        _text(row["request_id"]),
        _text(seg),
        _whole(seq),
        _text(row["target"]),
        _text(row["tenant_id"]),
    ]
    detail, ts = row["detail"], row["ts"]
    if None in texts or not (detail is None or type(detail) is dict) or type(ts) is not datetime:
        return canonical_body(seg, seq, prev, row)
    action, actor, addr, items, outcome, rid, seg_t, seq_t, target, tenant = texts
    detail_t = "null" if detail is None else _ENCODER.encode(detail)
    return (
        f'{{"action":{action},"actor":{actor},"addr":{addr},"detail":{detail_t},'
        f'"items":{items},"outcome":{outcome},"prev":"{prev.hex()}","rid":{rid},'
        f'"seg":{seg_t},"seq":{seq_t},"target":{target},"tenant":{tenant},'
        f'"ts":{ts_micros(ts)},"v":{FORMAT}}}'
    ).encode()


def record_hash(body: bytes) -> bytes:
    return hashlib.sha256(REC_TAG + body).digest()


def record_mac(key: bytes, h: bytes) -> bytes:
    return hmac.digest(key, MAC_TAG + h, "sha256")


def evolve(key: bytes) -> bytes:
    return hmac.digest(key, EVOLVE_TAG, "sha256")


def system_row(action: ChainAction, ts: datetime, detail: dict[str, Any] | None) -> dict[str, Any]:
    """Columns of a record the chain writes itself (open, heartbeat, close, void)."""
    return {
        "ts": ts,
        "request_id": "-",
        "actor": SYSTEM_ACTOR,
        "tenant_id": "-",
        "action": str(action),
        "target": None,
        "outcome": "success",
        "item_count": None,
        "client_addr": None,
        "detail": detail,
    }


class Reservation(NamedTuple):
    """A sealed record whose transaction has not finished: what voiding it needs."""

    seq: int
    prev: bytes
    link: bytes
    key: bytes


class SegmentChain:
    """The writer side of one segment. Not thread-safe: one event loop seals."""

    def __init__(self, segment_id: str, k0: bytes) -> None:
        self.segment_id = segment_id
        self._key = k0
        self._seq = 0
        self._prev = ZERO

    @property
    def next_seq(self) -> int:
        return self._seq

    def seal(self, row: dict[str, Any]) -> tuple[dict[str, Any], Reservation]:
        """Chain ``row`` as the next record; returns the full row and its reservation."""
        sealed, reservation, _ = self.seal_with_body(row)
        return sealed, reservation

    def seal_with_body(self, row: dict[str, Any]) -> tuple[dict[str, Any], Reservation, bytes]:
        """``seal``, also returning the hashed body (which holds every column but
        hash and mac: the PostgreSQL writer sends it as the row itself)."""
        seq, prev, key = self._seq, self._prev, self._key
        body = record_body(self.segment_id, seq, prev, row)
        h = record_hash(body)
        sealed = {
            **row,
            "segment_id": self.segment_id,
            "seq": seq,
            "prev_hash": prev,
            "hash": h,
            "mac": record_mac(key, h),
        }
        self._key, self._seq, self._prev = evolve(key), seq + 1, h
        return sealed, Reservation(seq, prev, h, key), body

    def void(self, r: Reservation, ts: datetime) -> dict[str, Any]:
        """The record that takes the place of reservation ``r`` whose write failed."""
        row = system_row(ChainAction.VOID, ts, {"voids": r.link.hex()})
        h = record_hash(record_body(self.segment_id, r.seq, r.prev, row))
        return {
            **row,
            "segment_id": self.segment_id,
            "seq": r.seq,
            "prev_hash": r.prev,
            "hash": r.link,  # the link the next record already carries
            "mac": record_mac(r.key, h),
        }


def link_value(row: dict[str, Any], h: bytes) -> bytes:
    """What the next record's ``prev`` must equal: h, or the voided hash of a void."""
    if row["action"] == ChainAction.VOID and row["actor"] == SYSTEM_ACTOR:
        detail = row["detail"] or {}
        voids = detail.get("voids") if isinstance(detail, dict) else None
        if isinstance(voids, str) and len(voids) == 64:
            try:
                return bytes.fromhex(voids)
            except ValueError:
                return h
    return h
