"""Issue 20's server side on both databases: the signed key statement of the public
key answer (checked with the client's verifier), the service key route, and the
blind index endpoint with its audit record."""

from __future__ import annotations

import time
from typing import Any

import pytest

from strongroom_client import KeyStatementError, ServiceKey
from strongroom_client.statement import verify_statement
from tests.api.conftest import App

TTL = 30 * 86400  # the longest allowed: the next scheduled rotation ends it sooner


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"key_statement_ttl_seconds": TTL}


async def test_public_key_answer_carries_a_statement_the_client_verifies(app: App) -> None:
    await app.create_key("alice", "mlkem768-x25519-hpke")
    r = await app.get("/api/v1/service-keys")
    assert r.status_code == 200, r.text
    pinned = ServiceKey.load(r.json()["keyStatement"])
    assert r.json()["keyStatement"]["keyId"] == pinned.key_id
    answer = (await app.get("/api/v1/keys/alice/public")).json()
    s = verify_statement(answer, pinned, "alice", "default")
    assert (s.version, s.key_type, s.suite, s.ciphertext_prefix) == (
        1,
        "mlkem768-x25519-hpke",
        3,
        "sr",
    )
    assert answer["tenant"] == "default" and answer["serviceKeyId"] == pinned.key_id
    assert answer["suite"] == 3 and answer["ciphertextPrefix"] == "sr"
    ttl = app.settings.keys.statement_ttl_seconds
    assert s.not_after - s.not_before == ttl and abs(s.not_before - time.time()) < 60
    with pytest.raises(KeyStatementError, match="expired"):
        verify_statement(answer, pinned, "alice", now=s.not_after)
    # A rotation due sooner than the TTL ends the statement's validity there.
    created = await app.post("/api/v1/keys", {"userId": "carol", "rotationPeriodDays": 1})
    assert created.status_code == 201
    soon = verify_statement((await app.get("/api/v1/keys/carol/public")).json(), pinned, "carol")
    assert abs(soon.not_after - (soon.not_before + 86400)) < 5
    # A key scheduled for deletion still shows its public key, but unsigned.
    assert (await app.post("/api/v1/keys/carol/deletion", {})).status_code == 202
    pending = (await app.get("/api/v1/keys/carol/public")).json()
    assert pending["publicKey"] and pending["statement"] is None
    with pytest.raises(KeyStatementError, match="no key statement"):
        verify_statement(pending, pinned, "carol")
    # One key per deployment: asked again, the same key (stored wrapped, made once).
    again = (await app.get("/api/v1/service-keys")).json()["keyStatement"]
    assert again["publicKey"] == r.json()["keyStatement"]["publicKey"]


async def test_blind_index_tokens_and_audit(app: App) -> None:
    await app.create_key("bob")
    body = {"userId": "bob", "field": "email", "data": ["B@x.org", "b@x.org"]}
    r = await app.post("/api/v1/blind-index", {**body, "normalize": ["case"]})
    assert r.status_code == 200, r.text
    tokens = r.json()["tokens"]
    assert tokens[0] == tokens[1]
    plain = (await app.post("/api/v1/blind-index", body)).json()["tokens"]
    assert plain[0] != plain[1] and tokens[0] not in plain
    tenant = await app.post("/api/v1/blind-index", {**body, "userId": None})
    assert tenant.status_code == 200 and tenant.json()["tokens"][1] not in plain
    missing = await app.post("/api/v1/blind-index", {**body, "userId": "nobody"})
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "KEY001"
    big = await app.post("/api/v1/blind-index", {**body, "data": ["x"] * 1001})
    assert big.status_code == 413
    records = (await app.get("/api/v1/audit/records?action=key.blind_index")).json()["records"]
    outcomes = [(r["outcome"], r["itemCount"]) for r in records]
    assert outcomes.count(("success", 2)) == 3 and ("failure", 2) in outcomes
    assert all("B@x.org" not in str(r) for r in records)
