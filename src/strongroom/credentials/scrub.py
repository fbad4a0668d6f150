"""Removing a key's values from what an upstream answers (an API that echoes the
``Authorization`` header back, a debug endpoint, an error page quoting the request).

Each value (the current and the previous slot's) is looked for as is and in the
encodings an echo commonly takes: URL-encoded (``%XX`` and ``+`` for space, either
hex case), JSON-escaped, hex, and base64 (standard and URL-safe alphabets, at each of
the three alignments a value can take inside a longer base64 text, as in
``Basic base64(user:key)``). Each occurrence becomes ``[REDACTED]``. What is not
caught: other encodings (compression the broker did not undo, encryption, a value
split across chunks of a structure), and pieces of a value shorter than itself.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from urllib.parse import quote, quote_plus

MARK = b"[REDACTED]"
MIN_B64 = 6  # shortest base64 core worth replacing (shorter ones match by chance)


def _b64_cores(value: bytes, encode: Callable[[bytes], bytes]) -> set[bytes]:
    """The base64 characters determined by ``value`` alone, whatever precedes it."""
    cores = set()
    for offset in range(3):
        text = encode(bytes(offset) + value)
        start = -(-offset * 8 // 6)  # first character with no bits of the prefix
        end = (offset + len(value)) * 8 // 6  # characters whose bits are all known
        core = text[start:end]
        if len(core) >= MIN_B64:
            cores.add(core)
    return cores


def forms(value: bytes) -> set[bytes]:
    """Every byte string to remove for ``value``."""
    if not value:
        return set()
    out = {value}
    text = value.decode("latin-1")
    for q in (quote(text, safe=""), quote_plus(text, safe="")):
        out |= {q.encode(), q.encode().lower(), _upper_escapes(q).encode()}
    out.add(json.dumps(text)[1:-1].encode())
    out |= {binascii.hexlify(value), binascii.hexlify(value).upper()}
    out |= _b64_cores(value, base64.b64encode) | _b64_cores(value, base64.urlsafe_b64encode)
    return {f for f in out if f}


def _upper_escapes(q: str) -> str:
    parts = q.split("%")
    return parts[0] + "".join("%" + p[:2].upper() + p[2:] for p in parts[1:])


class Scrubber:
    """Built once per call from the key's values; longest forms replaced first, so a
    form that contains another is removed whole."""

    def __init__(self, *values: bytes | None) -> None:
        found: set[bytes] = set()
        for v in values:
            if v:
                found |= forms(v)
        self._forms = sorted(found, key=len, reverse=True)

    def clean(self, data: bytes) -> bytes:
        for f in self._forms:
            if f in data:
                data = data.replace(f, MARK)
        return data

    def text(self, data: str) -> str:
        return self.clean(data.encode("latin-1")).decode("latin-1")

    def found_in(self, data: bytes) -> bool:
        return any(f in data for f in self._forms)
