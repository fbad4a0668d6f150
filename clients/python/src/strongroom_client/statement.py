"""Key statements (docs/key-statement.md): parse and verify what the service signs
about a user's public key, against a pinned service key.

Only the signed bytes are trusted: the JSON fields beside them in the answer are
ignored, so nothing on the path can change what an offline encryptor binds to.
"""

from __future__ import annotations

import hashlib
import struct
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from strongroom_client._format import SUITES, unb64url
from strongroom_client.errors import KeyStatementError

STATEMENT_TAG = b"sr-key-stmt-1"
# Clock skew tolerated at the start of a statement's validity.
SKEW_SECONDS = 60


@dataclass(frozen=True)
class KeyStatement:
    service_key_id: str
    tenant: str
    user_id: str
    version: int
    key_type: str
    suite: int
    public_key: bytes = field(repr=False)
    ciphertext_prefix: str
    not_before: int
    not_after: int


@dataclass(frozen=True)
class ServiceKey:
    """A pinned key-statement signing key."""

    public: Ed25519PublicKey

    @property
    def key_id(self) -> str:
        raw = self.public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return hashlib.sha256(raw).digest()[:16].hex()

    @classmethod
    def load(cls, value: str | bytes | Mapping[str, Any]) -> ServiceKey:
        """From base64url of the raw key, a PEM (text or a file path), or the
        ``keyStatement`` object of ``GET /api/v1/service-keys``."""
        try:
            if isinstance(value, Mapping):
                value = str(value["publicKey"])
            if isinstance(value, bytes):
                value = value.decode()
            text = value.strip()
            if "BEGIN PUBLIC KEY" not in text and Path(text).is_file():
                text = Path(text).read_text()
            if "BEGIN PUBLIC KEY" in text:
                key = serialization.load_pem_public_key(text.encode())
                if not isinstance(key, Ed25519PublicKey):
                    raise ValueError("not Ed25519")
                return cls(key)
            return cls(Ed25519PublicKey.from_public_bytes(unb64url(text)))
        except (ValueError, KeyError, OSError, TypeError) as exc:
            raise KeyStatementError("unusable service key") from exc


class _Reader:
    def __init__(self, raw: bytes) -> None:
        self.raw, self.at = raw, 0

    def field(self) -> bytes:
        if self.at + 4 > len(self.raw):
            raise ValueError("truncated")
        (n,) = struct.unpack_from(">I", self.raw, self.at)
        start, self.at = self.at + 4, self.at + 4 + n
        if self.at > len(self.raw):
            raise ValueError("truncated")
        return self.raw[start : self.at]

    def text(self) -> str:
        return self.field().decode("utf-8", errors="strict")

    def uint(self, size: int) -> int:
        data = self.field()
        if len(data) != size:
            raise ValueError("bad integer width")
        return int.from_bytes(data, "big")


def parse_statement(raw: bytes) -> KeyStatement:
    """The statement's fields; raises KeyStatementError if it is not exactly format 1."""
    try:
        r = _Reader(raw)
        if r.field() != STATEMENT_TAG:
            raise ValueError("unknown statement format")
        s = KeyStatement(
            service_key_id=r.text(),
            tenant=r.text(),
            user_id=r.text(),
            version=r.uint(4),
            key_type=r.text(),
            suite=r.uint(1),
            public_key=r.field(),
            ciphertext_prefix=r.text(),
            not_before=r.uint(8),
            not_after=r.uint(8),
        )
        if r.at != len(raw):
            raise ValueError("trailing bytes")
        suite = SUITES.get(s.key_type)
        if suite is None or suite.id != s.suite or len(s.public_key) != suite.public_len:
            raise ValueError("key type, suite and key do not agree")
        if not s.public_key or s.version < 1 or not s.ciphertext_prefix:
            raise ValueError("incomplete statement")
    except ValueError as exc:
        raise KeyStatementError("malformed key statement") from exc
    return s


def verify_statement(
    answer: Mapping[str, Any],
    pinned: ServiceKey,
    user_id: str,
    tenant: str | None = None,
    now: float | None = None,
) -> KeyStatement:
    """Verify a ``GET /api/v1/keys/{userId}/public`` answer. Refuses (KeyStatementError)
    a statement signed by another key, for another user (or tenant, when given),
    outside its validity window, or malformed; and an answer without one."""
    try:
        raw = unb64url(answer["statement"])
        signature = unb64url(answer["signature"])
    except (KeyError, ValueError, TypeError) as exc:  # absent, null or not text
        raise KeyStatementError(
            "the answer carries no key statement (the key is not enabled, or the "
            "service does not sign statements)"
        ) from exc
    s = parse_statement(raw)
    if s.service_key_id != pinned.key_id:
        raise KeyStatementError("key statement signed by another service key")
    try:
        pinned.public.verify(signature, raw)
    except InvalidSignature:
        raise KeyStatementError("key statement signature does not verify") from None
    if s.user_id != user_id:
        raise KeyStatementError("key statement is for another user")
    if tenant is not None and s.tenant != tenant:
        raise KeyStatementError("key statement is for another tenant")
    now = time.time() if now is None else now
    if now + SKEW_SECONDS < s.not_before:
        raise KeyStatementError("key statement not yet valid")
    if now >= s.not_after:
        raise KeyStatementError("key statement expired")
    return s
