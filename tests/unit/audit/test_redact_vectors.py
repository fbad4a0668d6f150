"""Test vectors of the lookup tag (docs/audit-format.md "Sensitive values")."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from strongroom.audit.actions import KeyAction
from strongroom.audit.models import AuditEvent, Outcome
from strongroom.audit.redact import AuditHasher
from strongroom.context import Actor
from strongroom.errors import AuditUnavailable

KEY = bytes(range(32))
VECTORS = {
    "alice@example.com": "hmac:26bd9eb5362af752553f4e7a7ead737c",
    "rotate this before the Q3 audit": "hmac:7d6d0b7e2c1637a05024c45061086c5a",
}


def test_vectors() -> None:
    h = AuditHasher(KEY)
    for value, tag in VECTORS.items():
        assert h.tag(value) == tag
        # From the documented formula with the standard library alone.
        mac = hmac.new(KEY, b"sr-audit-lookup-1\x00" + value.encode(), hashlib.sha256)
        assert tag == "hmac:" + mac.hexdigest()[:32]


def _row(e: AuditEvent) -> dict[str, object]:
    return {"target": e.target, "client_addr": e.actor.client_addr, "detail": e.detail}


def test_only_marked_kinds_and_free_text_are_replaced() -> None:
    actor = Actor("ak_1", "t", "r", "203.0.113.9")
    e = AuditEvent(
        actor,
        KeyAction.ENCRYPT,
        Outcome.SUCCESS,
        "alice@example.com",
        detail={"n": 1},
        target_kind="userId",
        private={"description": "rotate this before the Q3 audit"},
    )
    plain = AuditHasher(KEY).row(e, _row(e))
    assert plain["target"] == "alice@example.com" and plain["client_addr"] == "203.0.113.9"
    assert plain["detail"] == {
        "n": 1,
        "hmac": {"description": VECTORS[(e.private or {})["description"]]},
    }
    marked = AuditHasher(KEY, ["userId", "clientAddr"]).row(e, _row(e))
    assert marked["target"] == VECTORS["alice@example.com"]
    assert str(marked["client_addr"]).startswith("hmac:")
    with pytest.raises(ValueError):
        AuditHasher(KEY, ["email"])
    with pytest.raises(AuditUnavailable):  # no key: nothing is written in clear instead
        AuditHasher(None).tag("x")
