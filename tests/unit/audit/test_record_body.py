"""The fast record-body encoder (audit/chain.py ``record_body``) is byte for byte the
canonical definition (``canonical_body``) for any row: a drift would make every new
record fail verification."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from strongroom.audit.chain import canonical_body, record_body

TEXT = st.text(st.characters(codec="utf-8"), max_size=40)
OPT_TEXT = st.none() | TEXT
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | TEXT
    | st.floats(allow_nan=False, allow_infinity=False)
)
DETAIL = st.none() | st.dictionaries(
    TEXT,
    st.recursive(SCALARS, lambda c: st.lists(c, max_size=3) | st.dictionaries(TEXT, c, max_size=3)),
    max_size=4,
)
TS = st.datetimes(
    min_value=datetime(1971, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
)


class _Outcome(StrEnum):
    SUCCESS = "success"


def row(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "ts": datetime(2026, 1, 1, tzinfo=UTC),
        "request_id": "r1",
        "actor": "ak_1",
        "tenant_id": "default",
        "action": "key.decrypt",
        "target": "user-1",
        "outcome": "success",
        "item_count": 1,
        "client_addr": "198.51.100.7",
        "detail": {"keyVersion": 1},
    }
    return base | over


@given(
    seq=st.integers(min_value=0, max_value=2**62),
    prev=st.binary(min_size=32, max_size=32),
    seg=TEXT,
    ts=TS,
    rid=TEXT,
    actor=TEXT,
    tenant=TEXT,
    action=TEXT,
    target=OPT_TEXT,
    outcome=TEXT,
    items=st.none() | st.integers(),
    addr=OPT_TEXT,
    detail=DETAIL,
)
@example(  # what the generic path takes: a bool count, a str subclass, a naive time
    seq=1, prev=bytes(32), seg="s", ts=datetime(2026, 1, 1), rid="r", actor="a", tenant="t",
    action="x", target=None, outcome=_Outcome.SUCCESS, items=True, addr=None, detail=None,
)  # fmt: skip
def test_fast_body_is_the_canonical_body(
    seq: int, prev: bytes, seg: str, ts: datetime, rid: str, actor: str, tenant: str,
    action: str, target: str | None, outcome: str, items: int | None, addr: str | None,
    detail: dict[str, Any] | None,
) -> None:  # fmt: skip
    r = row(
        ts=ts, request_id=rid, actor=actor, tenant_id=tenant, action=action, target=target,
        outcome=outcome, item_count=items, client_addr=addr, detail=detail,
    )  # fmt: skip
    assert record_body(seg, seq, prev, r) == canonical_body(seg, seq, prev, r)


def test_body_is_ascii_and_sorted() -> None:
    body = record_body(
        "seg",
        3,
        bytes(32),
        row(target="Zoë ☃", ts=datetime(2026, 1, 1, tzinfo=UTC) + timedelta(microseconds=7)),
    )
    text = body.decode("ascii")
    assert text.startswith('{"action":"key.decrypt","actor":"ak_1","addr":"198.51.100.7",')
    assert '"target":"Zo\\u00eb \\u2603"' in text and '"ts":1767225600000007' in text
    assert text.endswith(',"v":1}')
