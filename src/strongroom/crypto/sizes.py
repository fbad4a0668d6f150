"""Exact ciphertext sizes per suite (docs/ciphertext.md), so that one limit on the
plaintext gives the matching limit on the ciphertext text: every item that may be
encrypted must also be accepted by decrypt, rotate and rewrap."""

from __future__ import annotations

from strongroom.crypto.codec import COMMITMENT_LEN, HEADER_LEN, MAX_VERSION, NONCE_LEN, TAG_LEN
from strongroom.crypto.suites import SuiteId

# suite id (1) + header length (2), before the header.
_PAYLOAD_HEAD = 3


def payload_length(suite: SuiteId, plaintext_len: int) -> int:
    """Bytes of the binary payload that seals ``plaintext_len`` bytes."""
    overhead = _PAYLOAD_HEAD + HEADER_LEN[suite] + COMMITMENT_LEN + NONCE_LEN + TAG_LEN
    return overhead + plaintext_len


def b64url_length(n: int) -> int:
    """Characters of unpadded base64url for ``n`` bytes: ceil(4n / 3)."""
    return (4 * n + 2) // 3


def text_length(prefix: str, version: int, suite: SuiteId, plaintext_len: int) -> int:
    """Characters of ``{prefix}:v{version}:{payload}`` for a ``plaintext_len``-byte item."""
    head = len(prefix) + len(f":v{version}:")
    return head + b64url_length(payload_length(suite, plaintext_len))


def max_text_length(prefix: str, suite: SuiteId, max_plaintext: int) -> int:
    """The longest text of an item of at most ``max_plaintext`` bytes in ``suite``, at
    any key version (the version is counted at its widest, 10 digits)."""
    return text_length(prefix, MAX_VERSION, suite, max_plaintext)
