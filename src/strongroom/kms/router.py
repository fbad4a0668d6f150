"""Several backends behind one ``Kms``: wrap with the primary, unwrap with whichever
backend made the blob (``key_ref``'s prefix).

This is what keeps clients' data readable while ``strongroom kms rewrap`` moves
wrapped keys from one backend to another (say local -> pkcs11): rows not yet moved
still open through the previous backend, moved rows through the new one.
"""

from __future__ import annotations

from collections.abc import Mapping

from strongroom.kms.interfaces import Kms, KmsError, Wrapped, backend_of


class KmsRouter:
    def __init__(self, primary: Kms, readers: Mapping[str, Kms]) -> None:
        self.primary = primary
        self.name = primary.name
        self._readers = {n: k for n, k in readers.items() if n != primary.name}

    @property
    def key_ref(self) -> str:
        return self.primary.key_ref

    def backend_for(self, key_ref: str) -> Kms:
        name = backend_of(key_ref)
        if name == self.primary.name:
            return self.primary
        if name in self._readers:
            return self._readers[name]
        raise KmsError("no configured backend made this wrapped key")

    async def wrap(self, plaintext: bytes, context: Mapping[str, str]) -> Wrapped:
        return await self.primary.wrap(plaintext, context)

    async def unwrap(self, wrapped: Wrapped, context: Mapping[str, str]) -> bytes:
        return await self.backend_for(wrapped.key_ref).unwrap(wrapped, context)

    async def rewrap(self, wrapped: Wrapped, context: Mapping[str, str]) -> Wrapped:
        source = self.backend_for(wrapped.key_ref)
        if source is self.primary:
            return await self.primary.rewrap(wrapped, context)
        return await self.primary.wrap(await source.unwrap(wrapped, context), context)

    async def health(self) -> bool:
        return await self.primary.health()

    async def close(self) -> None:
        for kms in (self.primary, *self._readers.values()):
            await kms.close()
