"""The KMS protocol every backend implements (and the shared contract tests check)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from strongroom.crypto.binding import lp
from strongroom.errors import StrongroomError


@dataclass(frozen=True)
class Wrapped:
    """Key material wrapped by a root key; ``key_ref`` names backend, key and version."""

    key_ref: str
    blob: bytes


class KmsError(StrongroomError):
    """The KMS refused to wrap or unwrap (denied, malformed blob, context mismatch).

    Permanent for the given input: never retried. Clients see only the fixed
    message (500 SYS001); ``reason`` (a fixed string chosen by the backend, never a
    value from the request or the KMS's error body) is for logs.
    """

    code, status, message = "SYS001", 500, "key service failure"

    def __init__(self, reason: str) -> None:
        super().__init__()
        self.reason = reason


class KmsUnavailable(KmsError):
    """The KMS could not be reached or answered with a transient failure.

    Retried with backoff; counted by the circuit breaker; answered with 503 SYS001.
    """

    status, message = 503, "key service unavailable"


def backend_of(key_ref: str) -> str:
    """The backend name a ``key_ref`` starts with (``local:...``, ``aws:...``)."""
    return key_ref.split(":", 1)[0]


class Kms(Protocol):
    """A root key held by a KMS or HSM.

    ``key_ref`` names the backend, the root key and (where the backend exposes one)
    its newest version; every ``Wrapped`` it makes carries the ``key_ref`` it was
    made under, so ``rewrap`` can tell which rows still need moving.
    """

    name: str

    @property
    def key_ref(self) -> str: ...

    async def wrap(self, plaintext: bytes, context: Mapping[str, str]) -> Wrapped:
        """Encrypt key material under the root key, bound to ``context``."""
        ...

    async def unwrap(self, wrapped: Wrapped, context: Mapping[str, str]) -> bytes:
        """Reverse ``wrap``; fails unless ``context`` equals the one used to wrap."""
        ...

    async def rewrap(self, wrapped: Wrapped, context: Mapping[str, str]) -> Wrapped:
        """Re-wrap under the newest root key version, inside the KMS where it can."""
        ...

    async def health(self) -> bool: ...

    async def close(self) -> None: ...


def encode_context(context: Mapping[str, str]) -> bytes:
    """Canonical, injective encoding of a wrap context (sorted, length-prefixed)."""
    fields: list[bytes] = []
    for key in sorted(context):
        fields += [key.encode(), context[key].encode()]
    return lp(b"sr-kms-ctx-1", *fields)


def service_key_context(name: str) -> dict[str, str]:
    """The wrap context of a service-wide secret stored under ``name`` in
    ``service_keys``: its purpose is its name (so ``kms rewrap`` can rebuild it)."""
    return {"purpose": name}
