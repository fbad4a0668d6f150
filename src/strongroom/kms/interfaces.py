"""The KMS protocol every backend implements (and the shared contract tests check)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from strongroom.crypto.binding import lp


@dataclass(frozen=True)
class Wrapped:
    """Key material wrapped by a root key; ``key_ref`` names backend, key and version."""

    key_ref: str
    blob: bytes


class KmsError(Exception):
    """The KMS could not wrap or unwrap (unavailable, denied, or context mismatch)."""


class Kms(Protocol):
    name: str

    async def wrap(self, plaintext: bytes, context: Mapping[str, str]) -> Wrapped:
        """Encrypt key material under the root key, bound to ``context``."""
        ...

    async def unwrap(self, wrapped: Wrapped, context: Mapping[str, str]) -> bytes:
        """Reverse ``wrap``; fails unless ``context`` equals the one used to wrap."""
        ...

    async def health(self) -> bool: ...

    async def close(self) -> None: ...


def encode_context(context: Mapping[str, str]) -> bytes:
    """Canonical, injective encoding of a wrap context (sorted, length-prefixed)."""
    fields: list[bytes] = []
    for key in sorted(context):
        fields += [key.encode(), context[key].encode()]
    return lp(b"sr-kms-ctx-1", *fields)
