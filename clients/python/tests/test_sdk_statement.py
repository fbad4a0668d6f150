"""Key statements (docs/key-statement.md): the test vector of the doc, and refusal of
a statement signed by another key, for another user or tenant, expired, not yet
valid, tampered or malformed."""

from __future__ import annotations

import struct
import time
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from strongroom_client import KeyStatementError, ServiceKey
from strongroom_client._cache import StatementCache
from strongroom_client._format import b64url, lp
from strongroom_client.statement import parse_statement, verify_statement

# docs/key-statement.md, "Test vector": Ed25519 seed 32 x 0x07, X25519 public key
# 32 x 0x09, tenant "default", user "alice", version 3, 2026-01-01T00:00:00Z + 1 hour.
DOC_SEED = bytes([7]) * 32
DOC_PUBLIC = bytes([9]) * 32
DOC_NOT_BEFORE = 1767225600


def statement(
    signer: Ed25519PrivateKey,
    user: str = "alice",
    tenant: str = "default",
    not_before: int | None = None,
    ttl: int = 3600,
    key_id: str | None = None,
    version: int = 3,
) -> dict[str, Any]:
    raw_pub = signer.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    start = int(time.time()) if not_before is None else not_before
    body = lp(
        b"sr-key-stmt-1",
        (key_id or ServiceKey(signer.public_key()).key_id).encode(),
        tenant.encode(),
        user.encode(),
        struct.pack(">I", version),
        b"x25519-hpke",
        bytes([1]),
        DOC_PUBLIC,
        b"sr",
        struct.pack(">Q", start),
        struct.pack(">Q", start + ttl),
    )
    assert raw_pub
    return {"statement": b64url(body), "signature": b64url(signer.sign(body))}


def pinned(signer: Ed25519PrivateKey) -> ServiceKey:
    return ServiceKey(signer.public_key())


SIGNER = Ed25519PrivateKey.from_private_bytes(DOC_SEED)


def test_doc_vector() -> None:
    answer = statement(SIGNER, not_before=DOC_NOT_BEFORE)
    doc = (
        __import__("pathlib").Path(__file__).parents[3] / "docs" / "key-statement.md"
    ).read_text()
    assert answer["statement"] in doc and answer["signature"] in doc
    s = verify_statement(answer, pinned(SIGNER), "alice", "default", now=DOC_NOT_BEFORE + 10)
    assert (s.tenant, s.user_id, s.version, s.key_type, s.suite) == (
        "default",
        "alice",
        3,
        "x25519-hpke",
        1,
    )
    assert s.public_key == DOC_PUBLIC and s.ciphertext_prefix == "sr"
    assert s.not_after - s.not_before == 3600


def test_verifies_and_loads_the_key_in_every_form() -> None:
    pem = (
        SIGNER.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    raw = SIGNER.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    for form in (pem, b64url(raw), {"publicKey": b64url(raw)}):
        verify_statement(statement(SIGNER), ServiceKey.load(form), "alice")
    with pytest.raises(KeyStatementError):
        ServiceKey.load("not a key")


def test_refuses_another_signing_key() -> None:
    other = Ed25519PrivateKey.generate()
    with pytest.raises(KeyStatementError, match="another service key"):
        verify_statement(statement(other), pinned(SIGNER), "alice")
    # Claiming the pinned key's id does not help: the signature does not verify.
    forged = statement(other, key_id=pinned(SIGNER).key_id)
    with pytest.raises(KeyStatementError, match="signature"):
        verify_statement(forged, pinned(SIGNER), "alice")


def test_refuses_another_user_or_tenant() -> None:
    with pytest.raises(KeyStatementError, match="another user"):
        verify_statement(statement(SIGNER, user="bob"), pinned(SIGNER), "alice")
    with pytest.raises(KeyStatementError, match="another tenant"):
        verify_statement(statement(SIGNER, tenant="acme"), pinned(SIGNER), "alice", "default")


def test_refuses_expired_and_not_yet_valid() -> None:
    now = time.time()
    expired = statement(SIGNER, not_before=int(now) - 7200, ttl=3600)
    with pytest.raises(KeyStatementError, match="expired"):
        verify_statement(expired, pinned(SIGNER), "alice", now=now)
    future = statement(SIGNER, not_before=int(now) + 600)
    with pytest.raises(KeyStatementError, match="not yet valid"):
        verify_statement(future, pinned(SIGNER), "alice", now=now)


def test_refuses_tampered_malformed_and_missing() -> None:
    good = statement(SIGNER)
    raw = bytearray(__import__("base64").urlsafe_b64decode(good["statement"] + "=="))
    raw[-20] ^= 1  # inside the public key
    tampered = {**good, "statement": b64url(bytes(raw))}
    with pytest.raises(KeyStatementError):
        verify_statement(tampered, pinned(SIGNER), "alice")
    with pytest.raises(KeyStatementError, match="no key statement"):
        verify_statement({"publicKey": "x"}, pinned(SIGNER), "alice")
    for bad in (b"", b"\x00\x00\x00\x01x", bytes(raw) + b"\x00"):
        with pytest.raises(KeyStatementError, match="malformed"):
            parse_statement(bad)


def test_cache_expires_and_drops_older_versions() -> None:
    s = verify_statement(statement(SIGNER, ttl=100), pinned(SIGNER), "alice")
    cache = StatementCache(ttl=50)
    now = time.time()
    cache.put(s, now)
    assert cache.get("alice", now + 10) is s
    assert cache.get("alice", now + 60) is None  # the client's TTL
    cache.put(s, now)
    cache.note_version("alice", 3)
    assert cache.get("alice", now) is s
    cache.note_version("alice", 4)  # rotated elsewhere
    assert cache.get("alice", now) is None
