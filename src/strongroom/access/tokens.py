"""Access key format.

Invariant: ``srk_{env}_{id}_{secret}_{check}`` where env is ``live`` or ``test``,
id is 16 lowercase base32 characters (80 random bits), secret 52 (256 random bits), and
check is the 7-character base32 CRC-32 of everything before it. The fixed prefix
lets secret scanners find leaked keys; the checksum rejects typos without a
database lookup; only the id is ever logged or stored in clear.
"""

from __future__ import annotations

import base64
import re
import secrets
import zlib
from dataclasses import dataclass

_RE = re.compile(r"srk_(live|test)_([a-z2-7]{16})_([a-z2-7]{52})_([a-z2-7]{7})")


def _b32(data: bytes) -> str:
    return base64.b32encode(data).decode().rstrip("=").lower()


_B32 = "abcdefghijklmnopqrstuvwxyz234567"


def _check(body: str) -> str:
    """``_b32`` of the CRC-32's four bytes, by arithmetic: it runs on every request and
    base64.b32encode was most of ``parse``. 32 bits pad to 35, seven characters."""
    v = zlib.crc32(body.encode()) << 3
    return "".join([_B32[(v >> shift) & 31] for shift in (30, 25, 20, 15, 10, 5, 0)])


@dataclass(frozen=True)
class ParsedKey:
    env: str
    key_id: str
    secret: str


def generate(env: str, key_id: str | None = None) -> tuple[str, ParsedKey]:
    """A new key; with ``key_id``, a new secret for that id (rotation keeps the id)."""
    key_id = key_id or _b32(secrets.token_bytes(10))
    secret = _b32(secrets.token_bytes(32))[:52]
    body = f"srk_{env}_{key_id}_{secret}"
    return f"{body}_{_check(body)}", ParsedKey(env, key_id, secret)


def parse(text: str) -> ParsedKey | None:
    """None unless ``text`` is well formed and its checksum matches."""
    m = _RE.fullmatch(text)
    if m is None:
        return None
    body = text[: -len(m.group(4)) - 1]
    if not secrets.compare_digest(_check(body), m.group(4)):
        return None
    return ParsedKey(m.group(1), m.group(2), m.group(3))
