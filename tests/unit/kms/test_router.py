"""KmsRouter: wraps with the primary, opens each blob with the backend named by its
key_ref, refuses blobs of a backend that is not configured."""

from __future__ import annotations

import os

import pytest

from strongroom.kms.interfaces import KmsError, Wrapped, backend_of
from strongroom.kms.local import LocalKms
from strongroom.kms.router import KmsRouter

CTX = {"purpose": "t"}


class Renamed(LocalKms):
    """A local key file posing as another backend name (routing is by name only)."""

    def __init__(self, name: str) -> None:
        super().__init__(os.urandom(32))
        self.name = name
        self._key_ref = f"{name}:{self.key_id.hex()}"


async def test_routes_by_key_ref_and_rewraps_to_primary() -> None:
    old, new = Renamed("pkcs11"), LocalKms(os.urandom(32))
    router = KmsRouter(new, {"pkcs11": old})
    legacy = await old.wrap(b"m" * 32, CTX)
    assert await router.unwrap(legacy, CTX) == b"m" * 32
    moved = await router.rewrap(legacy, CTX)
    assert backend_of(moved.key_ref) == "local" and moved.key_ref == router.key_ref
    assert await router.unwrap(moved, CTX) == b"m" * 32
    fresh = await router.wrap(b"n" * 32, CTX)
    assert backend_of(fresh.key_ref) == "local"


async def test_unconfigured_backend_is_refused() -> None:
    router = KmsRouter(LocalKms(os.urandom(32)), {})
    with pytest.raises(KmsError) as err:
        await router.unwrap(Wrapped("aws:arn:aws:kms:eu-west-1:1:key/x", b"blob"), CTX)
    assert err.value.status == 500 and err.value.code == "SYS001"
