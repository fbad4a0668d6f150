"""Service-wide secrets (access-key pepper, audit signing and lookup keys): made
once, stored only wrapped by the KMS under ``service_key_context(name)`` (the
context ``strongroom kms rewrap`` rebuilds), unwrapped at start-up."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from strongroom.kms.interfaces import Kms, Wrapped, service_key_context


class WrappedSecrets(Protocol):
    """Where wrapped secrets live (store/service_keys.py): (key_ref, blob) by name."""

    async def get(self, name: str) -> tuple[str, bytes] | None: ...

    async def add(self, name: str, key_ref: str, blob: bytes) -> bool:
        """Store a new secret; False if another process stored one first."""
        ...


async def service_secret(
    kms: Kms, store: WrappedSecrets, name: str, make: Callable[[], bytes]
) -> bytes:
    """The secret ``name``, created with ``make`` on first use (first writer wins)."""
    ctx = service_key_context(name)
    stored = await store.get(name)
    if stored is None:
        secret = make()
        new = await kms.wrap(secret, ctx)
        if await store.add(name, new.key_ref, new.blob):
            return secret
        stored = await store.get(name)
        if stored is None:  # added by another process, then gone: a bug elsewhere
            raise RuntimeError(f"service secret {name} vanished")
    return await kms.unwrap(Wrapped(*stored), ctx)
