"""The README session and the seed's exact request/response shapes, on every key type."""

from __future__ import annotations

import pytest

from tests.api.conftest import App

KEY_TYPES = ["x25519-hpke", "p256-hpke", "mlkem768-x25519-hpke", "aes256-gcm"]


async def test_readme_session(app: App) -> None:
    r = await app.post("/api/v1/keys", {"userId": "alice"})
    assert r.status_code == 201
    assert r.json()["success"] is True
    assert r.json()["keyType"] == "x25519-hpke"

    plain = ["Alice Smith", "123-45-6789", "1990-01-01"]
    r = await app.post("/api/v1/encrypt", {"userId": "alice", "data": plain})
    assert r.status_code == 200
    assert set(r.json()) == {"encryptedData"}
    enc = r.json()["encryptedData"]
    assert len(enc) == 3 and all(c.startswith("sr:v1:") for c in enc)
    assert not any(p in c for p, c in zip(plain, enc, strict=True))

    r = await app.post("/api/v1/decrypt", {"userId": "alice", "data": enc})
    assert r.status_code == 200
    assert r.json() == {"decryptedData": plain}

    record = {"name": enc[0], "ssn": enc[1], "age": 42, "note": "not a ciphertext"}
    r = await app.post("/api/v1/rotate", {"userId": "alice", "data": [record, enc[2], 7]})
    assert r.status_code == 200, r.text
    rotated = r.json()["rotatedData"]
    assert rotated[0]["age"] == 42 and rotated[0]["note"] == "not a ciphertext"
    assert rotated[2] == 7
    assert all(rotated[0][f].startswith("sr:v2:") for f in ("name", "ssn"))
    assert rotated[1].startswith("sr:v2:")
    values = [rotated[0]["name"], rotated[0]["ssn"], rotated[1]]
    assert await app.decrypt("alice", values) == plain

    meta = (await app.get("/api/v1/keys/alice")).json()
    assert meta["currentVersion"] == 2
    assert [v["version"] for v in meta["versions"]] == [1, 2]
    history = (await app.get("/api/v1/keys/alice/history")).json()["history"]
    assert [(h["version"], h["reason"]) for h in history] == [(1, "created"), (2, "on-demand")]
    # Old ciphertexts stay readable after rotation (min_decryption_version is still 1).
    assert await app.decrypt("alice", enc) == plain


@pytest.mark.parametrize("key_type", KEY_TYPES)
async def test_every_key_type_round_trips(app: App, key_type: str) -> None:
    meta = await app.create_key("u-" + key_type, key_type)
    assert meta["keyType"] == key_type
    assert (meta["publicKey"] is None) == (key_type == "aes256-gcm")
    data = ["", "ünïcødé ✓", "x" * 5000, "a:b:c"]
    enc = await app.encrypt("u-" + key_type, data, context="orders")
    assert await app.decrypt("u-" + key_type, enc, context="orders") == data


async def test_public_key_export(app: App) -> None:
    meta = await app.create_key("pk")
    r = await app.get("/api/v1/keys/pk/public")
    assert r.status_code == 200
    body = r.json()
    assert body["publicKey"] == meta["publicKey"] and body["version"] == 1
    await app.create_key("sym", "aes256-gcm")
    r = await app.get("/api/v1/keys/sym/public")
    assert r.status_code == 400 and r.json()["error"]["code"] == "ENC001"


async def test_client_side_encryption_with_public_key(app: App) -> None:
    """Anyone holding the public key can encrypt offline; only the service decrypts."""
    from strongroom.crypto import codec, envelope, suites
    from strongroom.crypto.binding import Binding

    await app.create_key("offline")
    pub = (await app.get("/api/v1/keys/offline/public")).json()
    raw = codec.unb64url(pub["publicKey"])
    suite = suites.SuiteId.X25519_HPKE
    dk = envelope.new_data_key(
        Binding(suite, "default", "offline", pub["version"], ""), suites.load_public(suite, raw)
    )
    text = codec.text_prefix("sr", pub["version"]) + codec.b64url(dk.seal(b"made offline"))
    assert await app.decrypt("offline", [text]) == ["made offline"]


async def test_rewrap_moves_to_current_version(app: App) -> None:
    await app.create_key("rw")
    old = await app.encrypt("rw", ["one", "two"])
    r = await app.post("/api/v1/rotate", {"userId": "rw", "data": []})
    assert r.status_code == 200 and r.json()["version"] == 2
    r = await app.post("/api/v1/rewrap", {"userId": "rw", "data": old})
    assert r.status_code == 200
    new = r.json()["rewrappedData"]
    assert r.json()["version"] == 2 and all(c.startswith("sr:v2:") for c in new)
    assert await app.decrypt("rw", new) == ["one", "two"]
    meta = (await app.get("/api/v1/keys/rw")).json()
    assert meta["currentVersion"] == 2  # rewrap did not rotate


async def test_one_data_key_per_request_is_amortised(app: App) -> None:
    """Items of one request share the sealed data key; two requests never do."""
    from strongroom.crypto import codec

    await app.create_key("amort")
    a = await app.encrypt("amort", ["1", "2", "3"])
    b = await app.encrypt("amort", ["1"])
    headers_a = {codec.parse_text("sr", c)[1].header for c in a}
    header_b = codec.parse_text("sr", b[0])[1].header
    assert len(headers_a) == 1 and header_b not in headers_a
    nonces = {codec.parse_text("sr", c)[1].nonce for c in a}
    assert len(nonces) == 3


async def test_context_is_bound(app: App) -> None:
    await app.create_key("ctx")
    enc = await app.encrypt("ctx", ["secret"], context="invoice:1")
    for other in (None, "", "invoice:2"):
        body = {"userId": "ctx", "data": enc}
        if other is not None:
            body["context"] = other
        r = await app.post("/api/v1/decrypt", body)
        assert r.status_code == 400 and r.json()["error"]["code"] == "ENC001"
    assert await app.decrypt("ctx", enc, context="invoice:1") == ["secret"]
