"""One item limit, on the plaintext (MAX_ITEM_BYTES): the largest item that encrypts
also decrypts, rotates and rewraps, in every suite (issue #15, item 13: the limit used
to bound the ciphertext text too, so items of ~48 KB to 64 KiB were lost)."""

from __future__ import annotations

import pytest

from strongroom.crypto.sizes import max_text_length
from strongroom.crypto.suites import KEY_TYPES
from tests.api.conftest import App

LIMIT = 65536


@pytest.mark.parametrize("key_type", list(KEY_TYPES))
async def test_largest_item_round_trips_in_every_suite(app: App, key_type: str) -> None:
    assert app.settings.keys.max_item_bytes == LIMIT
    user = "big-" + key_type
    await app.create_key(user, key_type)
    # Multi-byte characters: the limit counts UTF-8 bytes, not characters.
    largest = "é" * (LIMIT // 2 - 1) + "xy"
    assert len(largest.encode()) == LIMIT
    enc = await app.encrypt(user, [largest, "small"])
    assert len(enc[0]) > LIMIT  # the text is longer than the limit, and must still open
    assert await app.decrypt(user, enc) == [largest, "small"]

    r = await app.post("/api/v1/rotate", {"userId": user, "data": [{"f": enc[0]}]})
    assert r.status_code == 200, r.text
    rotated = r.json()["rotatedData"][0]["f"]
    assert rotated.startswith("sr:v2:")
    assert await app.decrypt(user, [rotated]) == [largest]

    r = await app.post("/api/v1/rewrap", {"userId": user, "data": [enc[0]]})
    assert r.status_code == 200, r.text
    assert await app.decrypt(user, r.json()["rewrappedData"]) == [largest]

    r = await app.post("/api/v1/encrypt", {"userId": user, "data": ["ok", largest + "!"]})
    assert r.status_code == 413
    error = r.json()["error"]
    assert error["code"] == "REQ001"
    assert error["details"] == {"index": 1, "limit": LIMIT}


@pytest.mark.parametrize("key_type", ["x25519-hpke", "mlkem768-x25519-hpke"])
async def test_texts_beyond_the_derived_bound_are_refused(app: App, key_type: str) -> None:
    user = "bound-" + key_type
    await app.create_key(user, key_type)
    bound = max_text_length("sr", KEY_TYPES[key_type], LIMIT)
    for path in ("/api/v1/decrypt", "/api/v1/rewrap"):
        r = await app.post(path, {"userId": user, "data": ["sr:v1:" + "A" * bound]})
        assert r.status_code == 413, r.text
        assert r.json()["error"]["code"] == "REQ001"
        assert r.json()["error"]["details"] == {"index": 0, "limit": bound}
    # At the bound itself the text is judged by its content (ENC001), not its size.
    r = await app.post("/api/v1/decrypt", {"userId": user, "data": ["sr:v1:" + "A" * 40]})
    assert r.status_code == 400 and r.json()["error"]["code"] == "ENC001"
