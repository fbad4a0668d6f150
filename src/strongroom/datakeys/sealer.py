"""Sealing server-side values under per-tenant data keys.

A tenant's first seal creates its data key version 1 (32 random bytes, wrapped by the
KMS under ``data_key_context``; two replicas racing both try to insert version 1 and
the loser reads the winner's). Unwrapped data keys live only in this process's memory,
loaded once however many requests miss them (caching.SingleFlight). ``rotate`` adds a
newer version: new records use it, old ones keep opening under theirs (a record names
its version), so rotation never rewrites data.

The binding of a record (its AAD, and the HKDF info of its own key) is, length-
prefixed: "sr-sealed-1", purpose, tenant, data-key version, then the caller's
identifiers (e.g. a secret's path, version and field). Anything else fails to open.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Sequence
from enum import StrEnum

import structlog

from strongroom.caching import SingleFlight
from strongroom.crypto.binding import lp
from strongroom.crypto.errors import CiphertextError
from strongroom.crypto.sealed import KEY_LEN, key_version, open_sealed, seal
from strongroom.errors import SealedDataInvalid
from strongroom.kms.interfaces import Kms, Wrapped
from strongroom.observability.metrics import SEALED_FAILURES
from strongroom.store.datakeys_repo import DataKeyRows
from strongroom.store.db import Database

log = structlog.get_logger("strongroom.datakeys")
TAG = b"sr-sealed-1"


class Purpose(StrEnum):
    """What a sealed record is; bound in it, so one kind can never pass for another."""

    SECRET = "secret"  # noqa: S105 (a purpose name) vault secret versions
    SHARE = "share"  # a share's own copy of its value
    PKI_KEY = "pki-key"  # certificate and CA private keys
    API_KEY = "api-key"  # stored third-party API keys
    IDEMPOTENT = "idempotent-answer"  # a write's stored first answer (idempotency/)


def data_key_context(tenant: str, version: int) -> dict[str, str]:
    """The KMS wrap context of a tenant data key (``kms rewrap`` rebuilds it)."""
    return {"purpose": "tenant-data-key", "tenant": tenant, "version": str(version)}


def binding(tenant: str, purpose: Purpose, version: int, parts: Sequence[str]) -> bytes:
    return lp(
        TAG,
        purpose.value.encode(),
        tenant.encode(),
        struct.pack(">I", version),
        *(p.encode() for p in parts),
    )


class Sealer:
    def __init__(self, db: Database, kms: Kms, *, ttl: float = 900.0, maxsize: int = 10_000):
        self._rows = DataKeyRows(db)
        self._kms = kms
        self._keys: SingleFlight[tuple[str, int], bytes] = SingleFlight(
            ttl=ttl, maxsize=maxsize, name="tenant_data_keys"
        )
        self._newest: SingleFlight[str, int] = SingleFlight(
            ttl=ttl, maxsize=maxsize, name="tenant_data_key_versions"
        )

    async def seal(
        self, tenant: str, purpose: Purpose, parts: Sequence[str], plaintext: bytes
    ) -> bytes:
        version = await self._newest.get(tenant, lambda: self._newest_or_create(tenant))
        key = await self._key(tenant, version)
        return seal(key, version, binding(tenant, purpose, version, parts), plaintext)

    async def open(self, tenant: str, purpose: Purpose, parts: Sequence[str], blob: bytes) -> bytes:
        try:
            version = key_version(blob)
            key = await self._key(tenant, version)
            return open_sealed(key, binding(tenant, purpose, version, parts), blob)
        except (CiphertextError, LookupError) as exc:
            log.warning("sealed_record_refused", purpose=purpose.value, reason=str(exc))
            SEALED_FAILURES.inc()
            raise SealedDataInvalid() from None

    async def rotate(self, tenant: str) -> int:
        """Add a newer data key version for ``tenant``; new records use it."""
        newest = await self._rows.newest(tenant)
        version = 1 if newest is None else newest[0] + 1
        await self._create(tenant, version)
        self._newest.forget(tenant)
        return version

    def forget(self) -> None:
        """Drop every unwrapped data key from memory (e.g. after ``kms rewrap``)."""
        self._keys.clear()
        self._newest.clear()

    async def close(self) -> None:
        await self._keys.close()
        await self._newest.close()

    async def _newest_or_create(self, tenant: str) -> int:
        newest = await self._rows.newest(tenant)
        if newest is not None:
            return newest[0]
        await self._create(tenant, 1)
        return 1

    async def _create(self, tenant: str, version: int) -> None:
        key = os.urandom(KEY_LEN)
        wrapped = await self._kms.wrap(key, data_key_context(tenant, version))
        if not await self._rows.add(tenant, version, wrapped.key_ref, wrapped.blob):
            return  # another process created this version first: use theirs
        log.info("tenant_data_key_created", tenant=tenant, version=version)

    async def _key(self, tenant: str, version: int) -> bytes:
        return await self._keys.get((tenant, version), lambda: self._unwrap(tenant, version))

    async def _unwrap(self, tenant: str, version: int) -> bytes:
        row = await self._rows.get(tenant, version)
        if row is None:
            raise LookupError("no such data key version")
        return await self._kms.unwrap(Wrapped(*row), data_key_context(tenant, version))
