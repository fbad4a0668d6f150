"""A bound on the password-hashing work an import can ask for (pure).

PKCS#12 files and encrypted PKCS#8 keys name their own KDF iteration counts (MAC
``iterations``, PBKDF2 ``iterationCount``, PKCS#12 PBE ``iterations``), and the
library honours them before it can tell a wrong password: 2^31 rounds is minutes of
CPU per request. Before anything is decrypted, this walks the DER (descending into
OCTET STRINGs that hold DER) and refuses any INTEGER that follows an OCTET STRING in
a SEQUENCE (``salt, iterations`` in every one of those structures) above
``MAX_ROUNDS``. Certificates inside never have that shape in universal tags."""

from __future__ import annotations

import contextlib

from strongroom.pki.errors import BadCertificate

MAX_ROUNDS = 1_000_000  # ~0.25 s of PBKDF2-SHA256 here; common tools use 2,048-600,000
_MAX_DEPTH = 24
_SEQUENCE, _SET, _OCTETS, _INTEGER = 0x30, 0x31, 0x04, 0x02


class TooManyRounds(BadCertificate):
    message = "key derivation rounds above the limit"


def check_rounds(der: bytes) -> None:
    """Raise ``TooManyRounds`` if ``der`` asks for more than ``MAX_ROUNDS``; bytes that
    are not DER pass (the parser refuses them itself)."""
    try:
        _walk(der, 0)
    except _NotDer:
        return


class _NotDer(Exception):
    pass


def _items(data: bytes) -> list[tuple[int, bytes]]:
    out, pos = [], 0
    while pos < len(data):
        if pos + 2 > len(data):
            raise _NotDer
        tag, n = data[pos], data[pos + 1]
        pos += 2
        if n & 0x80:
            width = n & 0x7F
            if width == 0 or width > 4 or pos + width > len(data):
                raise _NotDer
            n = int.from_bytes(data[pos : pos + width], "big")
            pos += width
        if pos + n > len(data):
            raise _NotDer
        out.append((tag, data[pos : pos + n]))
        pos += n
    return out


def _walk(data: bytes, depth: int) -> None:
    if depth > _MAX_DEPTH:
        return
    items = _items(data)
    for i, (tag, body) in enumerate(items):
        if tag == _INTEGER and i > 0 and items[i - 1][0] == _OCTETS:
            if len(body) > 4 or int.from_bytes(body, "big") > MAX_ROUNDS:
                raise TooManyRounds()
        elif _holds_der(tag, body):
            with contextlib.suppress(_NotDer):  # not DER inside: not ours to judge
                _walk(body, depth + 1)


def _holds_der(tag: int, body: bytes) -> bool:
    """A constructed value (SEQUENCE, SET, context-specific), or an OCTET STRING
    that wraps one (PKCS#12's authSafe and bags)."""
    constructed = tag in (_SEQUENCE, _SET) or (tag & 0xA0) == 0xA0
    return constructed or (tag == _OCTETS and body[:1] in (b"\x30", b"\x31"))
