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

import binascii
import struct
from collections.abc import Sequence
from typing import NamedTuple

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


class Payload(NamedTuple):
    # A NamedTuple, not a frozen dataclass: built once per item on the hot path.
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
    suite = _SUITES.get(raw[0])
    if suite is None:
        raise CiphertextError("unknown-suite")
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
_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_SUITES = {int(s): s for s in SuiteId}


def b64url(data: bytes) -> str:
    """Unpadded base64url (RFC 4648 section 5)."""
    return binascii.b2a_base64(data, newline=False).translate(_URLSAFE).rstrip(b"=").decode()


_URLSAFE_NEWLINE = bytes.maketrans(b"+/\n", b"-_\n")


def b64url_texts(head: str, payloads: Sequence[bytes]) -> list[str]:
    """``head + b64url(p)`` for each payload, as one translate/decode/split over the
    batch instead of four calls per item (the encrypt hot path). b2a_base64 ends
    each chunk with a newline, which base64url never contains, so it splits safely."""
    if not payloads:
        return []
    b2a = binascii.b2a_base64
    blob = b"".join([b2a(p) for p in payloads]).translate(_URLSAFE_NEWLINE, b"=")
    return [head + t for t in blob.decode("ascii").split("\n")[:-1]]


# base64url -> standard alphabet, and "+", "/", "=" (never in base64url) -> "!", which
# strict a2b_base64 rejects: one C translate does both the mapping and the check.
_TO_STANDARD = bytes.maketrans(b"-_+/=", b"+/!!!")
# Sextet value per ASCII byte (0 for non-alphabet bytes, which a2b rejects anyway).
_SEXTET = bytes(max(_ALPHABET.find(bytes([c])), 0) for c in range(256))
_PAD = (b"", b"", b"==", b"=")


def unb64url(text: str) -> bytes:
    """Strict, canonical inverse of ``b64url``: URL-safe alphabet only, no padding, and
    unused trailing bits zero, so each payload has exactly one text form."""
    try:
        raw = text.encode("ascii")
    except UnicodeEncodeError:
        raise CiphertextError("bad-base64") from None
    rem = len(raw) & 3
    if rem == 1 or (rem and _SEXTET[raw[-1]] & (0b1111 if rem == 2 else 0b11)):
        raise CiphertextError("bad-base64")
    try:
        return binascii.a2b_base64(raw.translate(_TO_STANDARD) + _PAD[rem], strict_mode=True)
    except binascii.Error:
        raise CiphertextError("bad-base64") from None


def split_run(
    head: str, shared: bytes, texts: Sequence[str], start: int
) -> tuple[list[tuple[bytes, bytes]], int]:
    """Decrypt fast path for items sealed under one data key: from ``start``, split each
    text that begins with ``head`` (``prefix:vN:``) and whose payload begins with
    ``shared`` (suite, header length, header, commitment) into (nonce, ciphertext).

    Returns the pairs and the index of the first item it did not take; that item goes
    through ``parse_text``, which names what is wrong with it. Same strictness as
    ``unb64url`` + ``decode_payload``, without building a Payload per item.
    """
    hl, sl = len(head), len(shared)
    nonce_end = sl + NONCE_LEN
    a2b, table, sextet, pad = binascii.a2b_base64, _TO_STANDARD, _SEXTET, _PAD
    out: list[tuple[bytes, bytes]] = []
    for i in range(start, len(texts)):
        text = texts[i]
        if not text.startswith(head) or not text.isascii():
            return out, i
        raw = text[hl:].encode("ascii")
        rem = len(raw) & 3
        if rem == 1 or (rem and sextet[raw[-1]] & (0b1111 if rem == 2 else 0b11)):
            return out, i
        try:
            payload = a2b(raw.translate(table) + pad[rem], strict_mode=True)
        except binascii.Error:
            return out, i
        if len(payload) < nonce_end + TAG_LEN or not payload.startswith(shared):
            return out, i
        out.append((payload[sl:nonce_end], payload[nonce_end:]))
    return out, len(texts)


def text_prefix(prefix: str, version: int) -> str:
    return f"{prefix}:v{version}:"


def _version(field: str) -> int | None:
    """``vN`` with N in 1..2^32-1 in plain ASCII decimal without leading zeros."""
    digits = field[1:]
    if (
        not 2 <= len(field) <= 11
        or field[0] != "v"
        or not (digits.isascii() and digits.isdigit())
        or digits[0] == "0"
    ):
        return None
    n = int(digits)
    return n if n <= MAX_VERSION else None


def looks_like_ciphertext(prefix: str, value: str) -> bool:
    """Cheap test used by rotate to find Strongroom ciphertexts inside objects."""
    head, sep, rest = value.partition(":")
    field, sep2, _ = rest.partition(":")
    return bool(sep and sep2) and head == prefix and _version(field) is not None


def parse_text(prefix: str, text: str) -> tuple[int, Payload]:
    """Split ``prefix:vN:payload``; raises CiphertextError on any malformation."""
    head, sep, rest = text.partition(":")
    if head != prefix or not sep:
        raise CiphertextError("bad-prefix")
    field, sep, body = rest.partition(":")
    version = _version(field) if sep else None
    if version is None:
        raise CiphertextError("bad-version")
    return version, decode_payload(unb64url(body))


def parse_version(prefix: str, text: str) -> int:
    """Only the version, for routing a batch to key versions before opening."""
    return parse_text(prefix, text)[0]
