"""The context every ciphertext is bound to.

Wire invariant: ``encode()`` is a sequence of fields, each a 4-byte big-endian
length followed by that many bytes, in this fixed order:

    "sr-ct-1" | suite (1 byte) | tenant (UTF-8) | userId (UTF-8)
    | key version (4-byte big-endian) | context (UTF-8, empty if absent)

Length prefixes make the encoding injective: no two distinct bindings share
bytes, whatever characters tenant, userId or context contain. An absent
context and an empty context are the same binding.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

FORMAT_TAG = b"sr-ct-1"


def lp(*fields: bytes) -> bytes:
    """Length-prefix and concatenate fields (4-byte big-endian lengths)."""
    return b"".join([len(f).to_bytes(4, "big") + f for f in fields])


@dataclass(frozen=True)
class Binding:
    suite: int
    tenant: str
    user_id: str
    version: int
    context: str = ""

    def encode(self) -> bytes:
        """The encoding, computed once per binding: a request uses it for the data
        key's derivation, its expansion and every item's AAD."""
        cached: bytes | None = self.__dict__.get("_encoded")
        if cached is None:
            cached = lp(
                FORMAT_TAG,
                bytes([self.suite]),
                self.tenant.encode(),
                self.user_id.encode(),
                struct.pack(">I", self.version),
                self.context.encode(),
            )
            self.__dict__["_encoded"] = cached  # frozen: past __setattr__, as cached_property
        return cached
