"""Share tokens: what a holder gets, and the only way to a share.

``srs_{secret}_{check}``: 52 base32 characters of secret (256 random bits), then the
7-character base32 CRC-32 of everything before it. The prefix lets secret scanners
find a leaked link; the checksum turns a typo into "not found" without a lookup.
Stored only as HMAC-SHA256 under a service-wide pepper (wrapped by the KMS), so a
copy of the database redeems nothing. A share's id (for its creator's listing and
revocation) is separate and random, and never part of a token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import zlib

PREFIX = "srs_"
_RE = re.compile(r"srs_([a-z2-7]{52})_([a-z2-7]{7})")


def _b32(data: bytes) -> str:
    return base64.b32encode(data).decode().rstrip("=").lower()


def _check(body: str) -> str:
    return _b32(zlib.crc32(body.encode()).to_bytes(4, "big"))


def generate() -> str:
    body = PREFIX + _b32(secrets.token_bytes(32))[:52]
    return f"{body}_{_check(body)}"


def new_id() -> str:
    """A share's id: 80 random bits, base32 (like an access key's id)."""
    return _b32(secrets.token_bytes(10))


def well_formed(token: str) -> bool:
    m = _RE.fullmatch(token)
    return m is not None and secrets.compare_digest(_check(token[:-8]), m.group(2))


def digest(pepper: bytes, token: str) -> bytes:
    return hmac.new(pepper, token.encode(), hashlib.sha256).digest()
