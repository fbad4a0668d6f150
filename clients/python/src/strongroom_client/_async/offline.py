"""Offline encryption: seal items to a user's public key without the service seeing
them, byte-compatible with the service's own ciphertexts (docs/ciphertext.md).

The public key comes from a key statement that must verify against the pinned
service key (``statement.verify_statement``); verified statements are cached per user
(``_cache.StatementCache``) and refetched after their TTL, after ``notAfter`` and as
soon as the client sees a newer key version.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from strongroom_client._async.keys import AsyncKeys
from strongroom_client._cache import StatementCache
from strongroom_client._format import SUITES, load_public, seal
from strongroom_client.errors import (
    ConfigurationError,
    InvalidInputError,
    PayloadTooLargeError,
)
from strongroom_client.statement import KeyStatement, ServiceKey, verify_statement


class AsyncOffline:
    def __init__(
        self,
        keys: AsyncKeys,
        cache: StatementCache,
        pinned: ServiceKey | None,
        tenant: str | None,
        max_item_bytes: int,
    ) -> None:
        self._keys = keys
        self._cache = cache
        self._pinned = pinned
        self._tenant = tenant
        self._max_item_bytes = max_item_bytes

    async def statement(self, user_id: str, refresh: bool = False) -> KeyStatement:
        """The user's verified key statement (cached unless ``refresh``)."""
        if self._pinned is None:
            raise ConfigurationError(
                "offline encryption needs a pinned service key (service_key= or "
                "STRONGROOM_SERVICE_KEY)"
            )
        now = time.time()
        cached = None if refresh else self._cache.get(user_id, now)
        if cached is not None:
            return cached
        answer = await self._keys.public_key(user_id)
        verified = verify_statement(answer, self._pinned, user_id, self._tenant, now)
        self._cache.put(verified, now)
        return verified

    async def encrypt(
        self, user_id: str, items: Sequence[str], context: str | None = None
    ) -> list[str]:
        """Ciphertexts of ``items`` for ``user_id``, made here; only decryption needs
        the service. Anyone with the public key can do this: a ciphertext proves
        nothing about who made it."""
        s = await self.statement(user_id)
        suite = SUITES[s.key_type]
        try:
            raw = [item.encode() for item in items]
        except UnicodeEncodeError:
            raise InvalidInputError("item is not valid Unicode") from None
        for index, item in enumerate(raw):
            if len(item) > self._max_item_bytes:
                details = {"index": index, "limit": self._max_item_bytes}
                raise PayloadTooLargeError("item too large", details=details)
        key = load_public(suite, s.public_key)
        return seal(
            suite, key, s.ciphertext_prefix, s.tenant, s.user_id, s.version, context or "", raw
        )
