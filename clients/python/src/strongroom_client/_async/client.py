"""``AsyncClient``: one object per service, its resources as attributes (one module
each) and the everyday calls at the top level."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any

import httpx

from strongroom_client._async.access_keys import AsyncAccessKeys
from strongroom_client._async.api_keys import AsyncApiKeys, AsyncProjects
from strongroom_client._async.audit import AsyncAudit
from strongroom_client._async.blind_index import AsyncBlindIndex
from strongroom_client._async.broker import AsyncBroker
from strongroom_client._async.certificates import AsyncAuthorities, AsyncCertificates
from strongroom_client._async.data import AsyncData, Rewrapped, Rotated
from strongroom_client._async.health import AsyncHealth
from strongroom_client._async.keys import AsyncKeys
from strongroom_client._async.mcp import AsyncMcp
from strongroom_client._async.offline import AsyncOffline
from strongroom_client._async.roles import AsyncRoles
from strongroom_client._async.secrets import AsyncSecrets
from strongroom_client._async.shares import AsyncShares
from strongroom_client._async.tokens import AsyncTokens
from strongroom_client._async.transport import AsyncTransport
from strongroom_client._cache import StatementCache
from strongroom_client._config import Config, RetryPolicy
from strongroom_client._secret import Secret
from strongroom_client.statement import ServiceKey


class AsyncClient:
    """A Strongroom client. Arguments left out come from ``STRONGROOM_ADDR``,
    ``STRONGROOM_API_KEY``, ``STRONGROOM_TOKEN``, ``STRONGROOM_CLIENT_CERT`` /
    ``STRONGROOM_CLIENT_KEY``, ``STRONGROOM_CA_CERT``, ``STRONGROOM_TENANT`` and
    ``STRONGROOM_SERVICE_KEY`` (``env`` replaces ``os.environ``).

    ``service_key`` pins the key that signs key statements (base64url, PEM or a PEM
    file): offline encryption refuses any statement it did not sign. ``transport``
    is an ``httpx`` transport (tests, proxies)."""

    def __init__(
        self,
        addr: str | None = None,
        *,
        api_key: str | None = None,
        token: str | None = None,
        client_cert: str | None = None,
        client_key: str | None = None,
        ca_cert: str | None = None,
        tenant: str | None = None,
        service_key: str | None = None,
        timeout: float | None = None,
        batch_size: int | None = None,
        statement_ttl: float | None = None,
        max_item_bytes: int | None = None,
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.config = Config.resolve(
            env,
            addr=addr,
            api_key=api_key,
            token=token,
            client_cert=client_cert,
            client_key=client_key,
            ca_cert=ca_cert,
            tenant=tenant,
            service_key=service_key,
            timeout=timeout,
            batch_size=batch_size,
            statement_ttl=statement_ttl,
            max_item_bytes=max_item_bytes,
            retry=retry,
        )
        self._transport = AsyncTransport(self.config, transport)
        cache = StatementCache(self.config.statement_ttl)
        pinned = ServiceKey.load(self.config.service_key) if self.config.service_key else None
        self.keys = AsyncKeys(self._transport, cache)
        self.data = AsyncData(self._transport, cache)
        self.blind_index = AsyncBlindIndex(self._transport)
        self.offline = AsyncOffline(
            self.keys, cache, pinned, self.config.tenant, self.config.max_item_bytes
        )
        self.access_keys = AsyncAccessKeys(self._transport)
        self.roles = AsyncRoles(self._transport)
        self.tokens = AsyncTokens(self._transport)
        self.secrets = AsyncSecrets(self._transport)
        self.shares = AsyncShares(self._transport)
        self.certificates = AsyncCertificates(self._transport)
        self.mcp = AsyncMcp(self._transport)
        self.authorities = AsyncAuthorities(self._transport)
        self.audit = AsyncAudit(self._transport)
        self.projects = AsyncProjects(self._transport)
        self.api_keys = AsyncApiKeys(self._transport)
        self.health = AsyncHealth(self._transport)
        self.broker = AsyncBroker(self._transport)

    def __repr__(self) -> str:
        return f"AsyncClient({self.config!r})"

    async def encrypt(
        self, user_id: str, items: Sequence[str], context: str | None = None
    ) -> list[str]:
        """``data.encrypt``: ciphertexts of ``items`` for ``user_id``."""
        return await self.data.encrypt(user_id, items, context)

    async def decrypt(
        self, user_id: str, items: Sequence[str], context: str | None = None
    ) -> list[Secret]:
        """``data.decrypt``: plaintexts (``Secret`` strings, masked in ``repr``)."""
        return await self.data.decrypt(user_id, items, context)

    async def rotate(
        self,
        user_id: str,
        data: Sequence[Any],
        reason: str = "on-demand",
        context: str | None = None,
    ) -> Rotated:
        """``data.rotate``: a new key version, ``data``'s ciphertexts re-encrypted."""
        return await self.data.rotate(user_id, data, reason, context)

    async def rewrap(
        self, user_id: str, items: Sequence[str], context: str | None = None
    ) -> Rewrapped:
        """``data.rewrap``: re-encrypt under the current version."""
        return await self.data.rewrap(user_id, items, context)

    async def encrypt_offline(
        self, user_id: str, items: Sequence[str], context: str | None = None
    ) -> list[str]:
        """``offline.encrypt``: ciphertexts made here from a verified key statement."""
        return await self.offline.encrypt(user_id, items, context)

    async def close(self) -> None:
        """Close the connections (``async with`` does it on exit)."""
        await self._transport.close()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
