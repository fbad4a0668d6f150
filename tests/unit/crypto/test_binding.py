"""The binding's encoding (crypto/binding.py) is the documented length-prefixed byte
string, whether computed or remembered, and remembering it changes no equality."""

from __future__ import annotations

import struct

from hypothesis import given
from hypothesis import strategies as st

from strongroom.crypto.binding import FORMAT_TAG, Binding, lp


def documented(b: Binding) -> bytes:
    fields = [
        FORMAT_TAG,
        bytes([b.suite]),
        b.tenant.encode(),
        b.user_id.encode(),
        struct.pack(">I", b.version),
        b.context.encode(),
    ]
    return b"".join(struct.pack(">I", len(f)) + f for f in fields)


@given(
    st.integers(0, 255),
    st.text(max_size=20),
    st.text(max_size=20),
    st.integers(0, 2**32 - 1),
    st.text(max_size=20),
)
def test_encoding_is_the_documented_one_every_time(
    suite: int, tenant: str, user: str, version: int, context: str
) -> None:
    b = Binding(suite, tenant, user, version, context)
    first = b.encode()
    assert first == documented(b) == b.encode()
    twin = Binding(suite, tenant, user, version, context)
    assert twin == b and hash(twin) == hash(b)  # the remembered encoding is not a field


def test_lp_prefixes_each_field_with_its_length() -> None:
    assert lp(b"ab", b"", b"c") == b"\0\0\0\x02ab\0\0\0\0\0\0\0\x01c"
