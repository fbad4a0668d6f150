"""Issue #15 item 17: per-item results for decrypt and rewrap batches, opt-in with
``"partial": true`` (Vault style); the default stays all or nothing."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from strongroom.crypto import codec
from tests.api.conftest import App


def tamper(text: str) -> str:
    version, payload = codec.parse_text("sr", text)
    raw = bytearray(codec.encode_payload(payload))
    raw[len(raw) // 2] ^= 0x01
    return f"sr:v{version}:{codec.b64url(bytes(raw))}"


def outcome(r: httpx.Response, field: str) -> list[Any]:
    """Per item: its result, or (code, index) of its error."""
    assert r.status_code == 200, r.text
    out: list[Any] = []
    for item in r.json()["results"]:
        error = item["error"]
        if error is None:
            out.append(item[field])
        else:
            assert item[field] is None
            out.append((error["code"], error["index"]))
    return out


async def test_one_tampered_item_fails_alone_when_opted_in(app: App) -> None:
    await app.create_key("alice")
    enc = await app.encrypt("alice", ["a", "b", "c"])
    bad = tamper(enc[1])
    body = {"userId": "alice", "data": [enc[0], bad, enc[2]]}

    r = await app.post("/api/v1/decrypt", {**body, "partial": True})
    assert outcome(r, "decryptedData") == ["a", ("ENC001", 1), "c"]
    answer = r.json()
    assert (answer["succeeded"], answer["failed"]) == (2, 1)
    assert answer["results"][1]["error"]["message"] == "invalid ciphertext"
    assert bad not in r.text  # the item is never echoed

    # The default, and partial false, still fail the whole batch naming the index.
    for default in (body, {**body, "partial": False}):
        r = await app.post("/api/v1/decrypt", default)
        assert r.status_code == 400
        assert r.json()["error"]["code"] == "ENC001"
        assert r.json()["error"]["details"] == {"index": 1}


async def test_many_bad_items_across_data_keys_keep_their_places(app: App) -> None:
    await app.create_key("bob")
    first = await app.encrypt("bob", ["p0", "p1", "p2", "p3"])
    second = await app.encrypt("bob", ["q0", "q1"])  # another data key, another run
    data = [
        tamper(first[0]),
        first[1],
        tamper(first[2]),
        tamper(first[3]),
        second[0],
        "not a ciphertext",
        second[1],
        "x" * 200_000,  # too large for any item: its own REQ001
    ]
    r = await app.post("/api/v1/decrypt", {"userId": "bob", "data": data, "partial": True})
    assert outcome(r, "decryptedData") == [
        ("ENC001", 0),
        "p1",
        ("ENC001", 2),
        ("ENC001", 3),
        "q0",
        ("ENC001", 5),
        "q1",
        ("REQ001", 7),
    ]
    assert r.json()["failed"] == 5


async def test_rewrap_per_item(app: App) -> None:
    await app.create_key("carol")
    enc = await app.encrypt("carol", ["x", "y", "z"])
    assert (await app.post("/api/v1/rotate", {"userId": "carol", "data": []})).status_code == 200
    data = [enc[0], tamper(enc[1]), enc[2]]

    r = await app.post("/api/v1/rewrap", {"userId": "carol", "data": data, "partial": True})
    got = outcome(r, "rewrappedData")
    assert got[1] == ("ENC001", 1)
    assert r.json()["version"] == 2
    assert all(t.startswith("sr:v2:") for t in (got[0], got[2]))
    assert await app.decrypt("carol", [got[0], got[2]]) == ["x", "z"]

    r = await app.post("/api/v1/rewrap", {"userId": "carol", "data": data})
    assert r.status_code == 400 and r.json()["error"]["details"] == {"index": 1}


async def test_whole_request_errors_still_fail_the_request(app: App) -> None:
    r = await app.post("/api/v1/decrypt", {"userId": "nobody", "data": ["x"], "partial": True})
    assert r.status_code == 404 and r.json()["error"]["code"] == "KEY001"
    await app.create_key("dave")
    limit = app.settings.keys.max_items_per_batch
    r = await app.post(
        "/api/v1/rewrap", {"userId": "dave", "data": ["x"] * (limit + 1), "partial": True}
    )
    assert r.status_code == 413


async def test_an_item_below_the_minimum_version_fails_alone(app: App) -> None:
    await app.create_key("erin")
    old = await app.encrypt("erin", ["old"])
    assert (await app.post("/api/v1/rotate", {"userId": "erin", "data": []})).status_code == 200
    new = await app.encrypt("erin", ["new"])
    r = await app.client.patch(
        "/api/v1/keys/erin/policy", json={"minDecryptionVersion": 2}, headers=app.headers
    )
    assert r.status_code == 200, r.text
    r = await app.post("/api/v1/decrypt", {"userId": "erin", "data": old + new, "partial": True})
    assert outcome(r, "decryptedData") == [("ENC001", 0), "new"]


@pytest.mark.parametrize("value", ["true", 1, None, [], {"on": True}])
async def test_bad_opt_in_values_are_refused(app: App, value: Any) -> None:
    await app.create_key("frank")
    enc = await app.encrypt("frank", ["a"])
    for path in ("/api/v1/decrypt", "/api/v1/rewrap"):
        r = await app.post(path, {"userId": "frank", "data": enc, "partial": value})
        assert r.status_code == 400, (path, value, r.text)
        error = r.json()["error"]
        assert error["code"] == "ENC001"
        assert "partial" in json.dumps(error["details"])


async def test_the_audit_record_counts_successes_and_failures(app: App) -> None:
    await app.create_key("gina")
    enc = await app.encrypt("gina", ["a", "b", "c"])
    data = [enc[0], tamper(enc[1]), tamper(enc[2])]
    r = await app.post("/api/v1/decrypt", {"userId": "gina", "data": data, "partial": True})
    assert r.status_code == 200
    r = await app.post("/api/v1/decrypt", {"userId": "gina", "data": data[1:], "partial": True})
    assert r.status_code == 200 and r.json()["failed"] == 2

    records = (await app.get("/api/v1/audit/records?action=key.decrypt&target=gina")).json()
    partial = [x for x in records["records"] if (x["detail"] or {}).get("codes")]
    summary = [(x["outcome"], x["itemCount"], x["detail"]) for x in partial]
    assert summary == [
        ("success", 3, {"succeeded": 1, "failed": 2, "codes": {"ENC001": 2}}),
        ("failure", 2, {"succeeded": 0, "failed": 2, "codes": {"ENC001": 2}}),
    ]
    assert not any(t in json.dumps(records) for t in data)
