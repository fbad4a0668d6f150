"""Idempotency keys: claim, store the first answer, replay it.

Scope is (tenant, principal, key): another principal's equal key is another key. A
key is claimed by the first request (a row with no answer: in flight); its answer is
stored sealed under the tenant's data key (purpose ``idempotent-answer``, bound to
the principal, the key and the request's fingerprint), since it may carry a new
access key, a share token or a revealed value. A 5xx answer or an exception releases
the key (the write may be retried). A claim whose request never answered (its
replica died) may be taken over after ``in_flight_seconds``; rows expire after
``ttl_seconds`` and the job ``idempotency.purge`` deletes them.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from strongroom.config.idempotency import IdempotencySettings
from strongroom.datakeys import Sealer
from strongroom.datakeys.sealer import Purpose
from strongroom.errors import IdempotencyInFlight, IdempotencyKeyReused
from strongroom.store import idempotency_repo as repo
from strongroom.store.db import Database
from strongroom.store.tenancy import isolated_scope, set_tenant, system_scope


@dataclass(frozen=True, slots=True)
class Claim:
    """This request holds the key: its answer is to be stored (or the key released)."""

    row_id: int
    tenant: str
    principal: str
    key: str
    fingerprint: str


@dataclass(frozen=True, slots=True)
class Stored:
    """A first answer, to replay: status, its stored headers and body."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes


class Idempotency:
    def __init__(self, settings: IdempotencySettings, db: Database, sealer: Sealer) -> None:
        self.settings = settings
        self._db = db
        self._sealer = sealer

    async def claim(
        self, tenant: str, principal: str, key: str, fingerprint: str
    ) -> Claim | Stored:
        """Claim the key for this request, or the stored answer of the same request.
        Raises ``IdempotencyKeyReused`` (another request had it) or
        ``IdempotencyInFlight`` (the first request has not answered yet)."""
        now = datetime.now(UTC)
        principal = _principal(principal)
        values = {
            "fingerprint": fingerprint,
            "created_at": now,
            "expires_at": now + timedelta(seconds=self.settings.ttl_seconds),
        }
        ident = {"tenant_id": tenant, "principal": principal, "idem_key": key}
        async with self._db.transaction() as s:
            row_id = await repo.insert(s, {**ident, **values})
            if row_id is not None:
                return Claim(row_id, tenant, principal, key, fingerprint)
            row = await repo.get(s, tenant, principal, key)
            if row is None:  # released by its request a moment ago: retry
                raise IdempotencyInFlight()
            stale = now - timedelta(seconds=self.settings.in_flight_seconds)
            if row.expires_at <= now or (row.status is None and row.created_at <= stale):
                if await repo.take_over(s, row.id, row.created_at, values):
                    return Claim(row.id, tenant, principal, key, fingerprint)
                raise IdempotencyInFlight()
            if row.fingerprint != fingerprint:
                raise IdempotencyKeyReused()
            if row.status is None or row.response is None:
                raise IdempotencyInFlight()
            status, sealed = row.status, row.response
        plain = await self._sealer.open(
            tenant, Purpose.IDEMPOTENT, _parts(principal, key, fingerprint), sealed
        )
        doc = json.loads(plain)
        headers = [(str(k), str(v)) for k, v in doc["h"]]
        return Stored(status, headers, base64.b64decode(doc["b"]))

    async def complete(self, claim: Claim, answer: Stored) -> None:
        """Store the first answer (sealed). A 5xx or a 429 is not stored (the key is
        released): waiting and retrying may give another answer."""
        if answer.status >= 500 or answer.status == 429:
            await self.release(claim)
            return
        doc = {"h": answer.headers, "b": base64.b64encode(answer.body).decode()}
        parts = _parts(claim.principal, claim.key, claim.fingerprint)
        with isolated_scope():
            set_tenant(claim.tenant)
            sealed = await self._sealer.seal(
                claim.tenant, Purpose.IDEMPOTENT, parts, json.dumps(doc).encode()
            )
            async with self._db.transaction() as s:
                await repo.store(s, claim.row_id, answer.status, sealed)

    async def release(self, claim: Claim) -> None:
        with isolated_scope():
            set_tenant(claim.tenant)
            async with self._db.transaction() as s:
                await repo.release(s, claim.row_id)

    async def purge(self, now: datetime) -> int:
        """The job ``idempotency.purge``: delete keys past their expiry."""
        with system_scope():
            async with self._db.transaction() as s:
                return await repo.purge(s, now)


def _principal(principal: str) -> str:
    """A principal id as stored: a long one (an OIDC issuer and subject) by its hash."""
    if len(principal) <= 200:
        return principal
    return "sha256:" + hashlib.sha256(principal.encode()).hexdigest()


def _parts(principal: str, key: str, fingerprint: str) -> tuple[str, ...]:
    return ("idempotency", principal, key, fingerprint)
