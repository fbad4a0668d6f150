"""Ciphertext wire format (suite 1-4). A public contract: see docs/ciphertext.md.

Text form: ``{prefix}:v{version}:{payload}`` where ``version`` is the user key
version in decimal (1..2^32-1, no sign, no leading zeros) and ``payload`` is
unpadded base64url of:

    offset  size  field
    0       1     suite id (crypto.suites.SuiteId)
    1       2     header length H, big-endian
    3       H     header: HPKE ``enc || sealed data key`` (HPKE suites) or a
                  32-byte HKDF salt (aes256-gcm); exact length fixed per suite
    3+H     32    key commitment
    35+H    12    AES-GCM nonce
    47+H    >=16  AES-256-GCM ciphertext || 16-byte tag

Invariants: every item is self-contained (it carries the header, so it opens
alone); the version in the text is not stored in the payload but is bound
through the HPKE info and the GCM AAD, so editing it makes the item fail;
the layout of an existing suite never changes.
"""

from __future__ import annotations

import base64
import binascii
import re
import struct
from dataclasses import dataclass

from strongroom.crypto.errors import CiphertextError
from strongroom.crypto.suites import SuiteId

COMMITMENT_LEN = 32
NONCE_LEN = 12
TAG_LEN = 16
MAX_VERSION = 2**32 - 1

# Exact header length per suite: HPKE enc || (32-byte data key + 16-byte tag), or salt.
HEADER_LEN: dict[SuiteId, int] = {
    SuiteId.X25519_HPKE: 32 + 48,
    SuiteId.P256_HPKE: 65 + 48,
    SuiteId.MLKEM768_X25519_HPKE: 1088 + 32 + 48,
    SuiteId.AES256_GCM: 32,
}

_B64URL = re.compile(r"[A-Za-z0-9_-]*")
_VERSION = re.compile(r"v([1-9][0-9]{0,9})")


@dataclass(frozen=True)
class Payload:
    suite: SuiteId
    header: bytes
    commitment: bytes
    nonce: bytes
    ciphertext: bytes


def payload_prefix(suite: SuiteId, header: bytes, commitment: bytes) -> bytes:
    """The bytes shared by every item sealed under one data key."""
    return bytes([suite]) + struct.pack(">H", len(header)) + header + commitment


def encode_payload(p: Payload) -> bytes:
    return payload_prefix(p.suite, p.header, p.commitment) + p.nonce + p.ciphertext


def decode_payload(raw: bytes) -> Payload:
    if len(raw) < 3:
        raise CiphertextError("truncated")
    try:
        suite = SuiteId(raw[0])
    except ValueError:
        raise CiphertextError("unknown-suite") from None
    (hlen,) = struct.unpack_from(">H", raw, 1)
    if hlen != HEADER_LEN[suite]:
        raise CiphertextError("bad-header-length")
    end = 3 + hlen
    if len(raw) < end + COMMITMENT_LEN + NONCE_LEN + TAG_LEN:
        raise CiphertextError("truncated")
    commit_end = end + COMMITMENT_LEN
    return Payload(
        suite=suite,
        header=raw[3:end],
        commitment=raw[end:commit_end],
        nonce=raw[commit_end : commit_end + NONCE_LEN],
        ciphertext=raw[commit_end + NONCE_LEN :],
    )


_URLSAFE = bytes.maketrans(b"+/", b"-_")


def b64url(data: bytes) -> str:
    """Unpadded base64url (RFC 4648 section 5)."""
    return binascii.b2a_base64(data, newline=False).translate(_URLSAFE).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    if not _B64URL.fullmatch(text) or len(text) % 4 == 1:
        raise CiphertextError("bad-base64")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise CiphertextError("bad-base64") from None


def text_prefix(prefix: str, version: int) -> str:
    return f"{prefix}:v{version}:"


def looks_like_ciphertext(prefix: str, value: str) -> bool:
    """Cheap test used by rotate to find Strongroom ciphertexts inside objects."""
    head, sep, rest = value.partition(":")
    return sep == ":" and head == prefix and bool(_VERSION.match(rest))


def parse_text(prefix: str, text: str) -> tuple[int, Payload]:
    """Split ``prefix:vN:payload``; raises CiphertextError on any malformation."""
    parts = text.split(":")
    if len(parts) != 3 or parts[0] != prefix:
        raise CiphertextError("bad-prefix")
    m = _VERSION.fullmatch(parts[1])
    if m is None or int(m.group(1)) > MAX_VERSION:
        raise CiphertextError("bad-version")
    return int(m.group(1)), decode_payload(unb64url(parts[2]))


def parse_version(prefix: str, text: str) -> int:
    """Only the version, for routing a batch to key versions before opening."""
    return parse_text(prefix, text)[0]
