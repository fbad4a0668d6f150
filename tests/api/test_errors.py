"""Bad input: a stable 4xx code, never a 500, and no change to stored state."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.types import Message

from strongroom.crypto import codec
from tests.api.conftest import App
from tests.api.routes import asgi_app, encrypt_scope
from tests.api.state import key_state


def code(r: httpx.Response) -> tuple[int, str]:
    return r.status_code, r.json()["error"]["code"]


async def test_foreign_tampered_and_wrong_context_give_one_error(app: App) -> None:
    await app.create_key("a")
    await app.create_key("b")
    enc = await app.encrypt("a", ["x", "y"], context="c1")
    before = await key_state(app)
    version, payload = codec.parse_text("sr", enc[1])
    raw = bytearray(codec.encode_payload(payload))
    raw[len(raw) // 2] ^= 0x01
    flipped = f"sr:v{version}:{codec.b64url(bytes(raw))}"
    cases = [
        ("b", enc, "c1", 0),  # user A's ciphertext sent as user B
        ("a", [enc[0], flipped], "c1", 1),  # one flipped byte, reported at its index
        ("a", enc, "c2", 0),  # wrong context
        ("a", [enc[0], enc[1][:-5]], "c1", 1),  # truncated
        ("a", [enc[0].replace("sr:v1:", "sr:v2:")], "c1", 0),  # unknown version
        ("a", ["not a ciphertext"], "c1", 0),
    ]
    for user, data, ctx, index in cases:
        r = await app.post("/api/v1/decrypt", {"userId": user, "data": data, "context": ctx})
        assert code(r) == (400, "ENC001"), r.text
        body = r.json()
        assert body["error"]["message"] == "invalid ciphertext"
        assert body["error"]["details"] == {"index": index}
    assert await key_state(app) == before


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(position=st.integers(min_value=0), bit=st.integers(min_value=0, max_value=7))
async def test_any_flipped_byte_is_rejected(
    app_x25519: tuple[App, str], position: int, bit: int
) -> None:
    app, text = app_x25519
    version, payload = codec.parse_text("sr", text)
    raw = bytearray(codec.encode_payload(payload))
    raw[position % len(raw)] ^= 1 << bit
    r = await app.post(
        "/api/v1/decrypt", {"userId": "flip", "data": [f"sr:v{version}:{codec.b64url(bytes(raw))}"]}
    )
    assert code(r) == (400, "ENC001")


@pytest.fixture
async def app_x25519(app: App) -> tuple[App, str]:
    await app.create_key("flip")
    return app, (await app.encrypt("flip", ["payload"]))[0]


async def test_unknown_user_is_key001(app: App) -> None:
    for path, body in [
        ("/api/v1/encrypt", {"userId": "ghost", "data": ["x"]}),
        ("/api/v1/decrypt", {"userId": "ghost", "data": ["sr:v1:AAAA"]}),
        ("/api/v1/rotate", {"userId": "ghost", "data": []}),
    ]:
        r = await app.post(path, body)
        assert code(r) == (404, "KEY001")
    r = await app.get("/api/v1/keys/ghost")
    assert code(r) == (404, "KEY001")


async def test_missing_or_wrong_api_key_is_auth001(app: App) -> None:
    await app.create_key("k")
    before = await key_state(app)
    forged = app.admin_key[:-9] + "aaaaaaa" + app.admin_key[-2:]
    for headers in (
        {},
        {"X-API-Key": "nope"},
        {"X-API-Key": forged},
        {"X-API-Key": app.admin_key + "x"},
    ):
        for path in ("/api/v1/encrypt", "/api/v1/keys"):
            r = await app.client.post(path, json={"userId": "k", "data": ["x"]}, headers=headers)
            assert code(r) == (401, "AUTH001")
    r = await app.client.get("/api/v1/keys/k")
    assert code(r) == (401, "AUTH001")
    assert await key_state(app) == before


async def test_wrong_secret_with_valid_id_and_checksum_is_rejected(app: App) -> None:
    from strongroom.access import tokens

    _, parsed = tokens.generate("live")
    real = tokens.parse(app.admin_key)
    assert real is not None
    # Same public id, different secret, valid checksum: must fail on the keyed hash.
    body = f"srk_live_{real.key_id}_{parsed.secret}"
    forged = f"{body}_{tokens._check(body)}"
    r = await app.client.post("/api/v1/keys", json={"userId": "z"}, headers={"X-API-Key": forged})
    assert code(r) == (401, "AUTH001")


@pytest.mark.parametrize(
    "raw",
    [
        b"{",
        b"[]",
        b'{"userId": "u"}',
        b'{"userId": 5, "data": ["x"]}',
        b'{"userId": "u", "data": "x"}',
        b'{"userId": "u", "data": [1, 2]}',
        b'{"userId": "u", "data": [null]}',
        b'{"userId": "", "data": ["x"]}',
        b'{"userId": "has space", "data": ["x"]}',
        b'{"userId": "u", "data": ["x"], "context": 3}',
        b'{"userId": "u", "data": ["\\ud800"]}',
        b"\xff\xfe",
    ],
)
async def test_malformed_requests_are_enc001(app: App, raw: bytes) -> None:
    await app.create_key("u")
    before = await key_state(app)
    for path in ("/api/v1/encrypt", "/api/v1/decrypt"):
        r = await app.client.post(
            path, content=raw, headers={**app.headers, "content-type": "application/json"}
        )
        assert code(r) == (400, "ENC001"), (path, raw, r.text)
        assert "input" not in str(r.json()["error"].get("details", ""))
    assert await key_state(app) == before


async def test_limits_give_413(app: App) -> None:
    await app.create_key("big")
    before = await key_state(app)
    limit = app.settings.keys.max_items_per_batch
    r = await app.post("/api/v1/encrypt", {"userId": "big", "data": ["x"] * (limit + 1)})
    assert code(r) == (413, "REQ001")
    huge = "x" * (app.settings.keys.max_item_bytes + 1)
    r = await app.post("/api/v1/encrypt", {"userId": "big", "data": ["ok", huge]})
    assert code(r) == (413, "REQ001") and r.json()["error"]["details"]["index"] == 1
    body = b'{"userId": "big", "data": ["' + b"x" * app.settings.server.max_body_bytes + b'"]}'
    r = await app.client.post(
        "/api/v1/encrypt", content=body, headers={**app.headers, "content-type": "application/json"}
    )
    assert code(r) == (413, "REQ001")
    assert await key_state(app) == before


async def test_rotate_is_all_or_nothing_and_names_the_item(app: App) -> None:
    await app.create_key("r")
    good = await app.encrypt("r", ["one", "two"])
    await app.create_key("other")
    foreign = (await app.encrypt("other", ["three"]))[0]
    before = await key_state(app)
    data = [{"a": good[0]}, {"b": {"c": [good[1], foreign]}}]
    r = await app.post("/api/v1/rotate", {"userId": "r", "data": data})
    assert code(r) == (400, "ENC001")
    assert r.json()["error"]["details"] == {"index": 1, "path": "b/c/1"}
    assert await key_state(app) == before
    assert await app.decrypt("r", good) == ["one", "two"]


async def test_duplicate_create_is_key003(app: App) -> None:
    await app.create_key("dup")
    before = await key_state(app)
    r = await app.post("/api/v1/keys", {"userId": "dup"})
    assert code(r) == (409, "KEY003")
    assert await key_state(app) == before


async def test_unknown_route_and_method(app: App) -> None:
    r = await app.client.get("/api/v1/nothing", headers=app.headers)
    assert code(r) == (404, "REQ002")
    r = await app.client.get("/api/v1/encrypt", headers=app.headers)
    assert code(r) == (405, "REQ003") and r.headers["allow"] == "POST"
    # Every method of the path, not only those of the first route that matched it.
    r = await app.client.put("/api/v1/access-keys", headers=app.headers)
    assert code(r) == (405, "REQ003") and r.headers["allow"] == "GET, POST"
    r = await app.client.request("TRACE", "/healthz")
    assert code(r) == (405, "REQ003") and r.headers["allow"] == "GET"


async def test_concurrent_bad_requests_never_500(app: App) -> None:
    await app.create_key("c")
    bodies = [{"userId": "c", "data": [f"sr:v1:{'A' * n}"]} for n in range(0, 200, 7)]
    rs = await asyncio.gather(*(app.post("/api/v1/decrypt", b) for b in bodies))
    assert {r.status_code for r in rs} == {400}


async def test_bad_item_inside_a_run_of_one_data_key_is_named_by_index(app: App) -> None:
    """Decrypt opens runs of items sealed together without parsing each in full; a
    forged item in the middle of such a run, or a run interleaved with another
    request's items, still gives ENC001 with the right index and opens the rest."""
    await app.post("/api/v1/keys", {"userId": "run"})
    first = await app.post("/api/v1/encrypt", {"userId": "run", "data": ["a", "b", "c", "d"]})
    second = await app.post("/api/v1/encrypt", {"userId": "run", "data": ["e", "f"]})
    one, two = first.json()["encryptedData"], second.json()["encryptedData"]
    mixed = [one[0], two[0], one[1], one[2], two[1], one[3]]
    r = await app.post("/api/v1/decrypt", {"userId": "run", "data": mixed})
    assert r.json()["decryptedData"] == ["a", "e", "b", "c", "f", "d"]
    version, payload = codec.parse_text("sr", one[2])
    raw = bytearray(codec.encode_payload(payload))
    raw[-1] ^= 1
    forged = f"sr:v{version}:{codec.b64url(bytes(raw))}"
    r = await app.post("/api/v1/decrypt", {"userId": "run", "data": [*one[:2], forged, one[3]]})
    assert code(r) == (400, "ENC001") and r.json()["error"]["details"] == {"index": 2}


async def test_unexpected_exception_is_500_sys001_without_its_message(
    app: App, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    async def boom(*_: object) -> None:
        raise RuntimeError("canary-7d1e unexpected value")

    await app.post("/api/v1/keys", {"userId": "boom"})
    monkeypatch.setattr(app.services.keys, "encrypt", boom)
    r = await app.post("/api/v1/encrypt", {"userId": "boom", "data": ["x"]})
    assert code(r) == (500, "SYS001") and r.json()["requestId"] == r.headers["x-request-id"]
    out = capsys.readouterr()
    assert "canary-7d1e" not in out.out + out.err + r.text
    assert "RuntimeError" in out.out + out.err  # the type is logged, for operators


async def test_client_leaving_mid_body_is_not_an_error(
    app: App, capsys: pytest.CaptureFixture[str]
) -> None:
    application = asgi_app(app)
    sent: list[Message] = []
    chunks: list[Message] = [
        {"type": "http.request", "body": b'{"userId": "x", ', "more_body": True},
        {"type": "http.disconnect"},
    ]

    async def receive() -> Message:
        return chunks.pop(0) if chunks else {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = encrypt_scope(app.admin_key, ("127.0.0.1", 1))
    await application(scope, receive, send)
    out = capsys.readouterr()
    assert "unhandled_exception" not in out.out + out.err
