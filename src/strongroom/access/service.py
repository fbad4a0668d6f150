"""Access keys: bootstrap, creation and authentication.

Secrets are stored only as HMAC-SHA256(pepper, secret); the pepper is wrapped by
the KMS and unwrapped once at start-up, so authentication needs no KMS call.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import uuid
from datetime import UTC, datetime

from strongroom.access import tokens
from strongroom.access.lifecycle import SYSTEM, AccessKeyAdmin
from strongroom.access.models import Principal
from strongroom.access.roles import RoleService
from strongroom.access.usage import UsageBuffer
from strongroom.audit.actions import AuthAction
from strongroom.audit.interfaces import AuditSink
from strongroom.audit.models import AuditEvent, Outcome
from strongroom.caching import SingleFlight
from strongroom.context import Actor
from strongroom.errors import AuthenticationFailed
from strongroom.kms.interfaces import Kms
from strongroom.kms.secrets import service_secret
from strongroom.store import access_repo
from strongroom.store.db import Database
from strongroom.store.models import AccessKey
from strongroom.store.service_keys import ServiceKeys

PEPPER_NAME = "access-key-pepper"


class AccessService:
    def __init__(
        self,
        db: Database,
        kms: Kms,
        audit: AuditSink,
        env: str = "live",
        cache_ttl: float = 5.0,
        grace_seconds: float = 86400.0,
        usage_flush_seconds: float = 30.0,
    ) -> None:
        self._db, self._kms, self._audit, self._env = db, kms, audit, env
        self._pepper: bytes | None = None
        # Key rows by id. A replica trusts a cached row for ``cache_ttl`` seconds from
        # when its read started: the bound on how long a key revoked elsewhere still
        # works here. Concurrent lookups of one key share one read; hot keys are
        # re-read in the background before they expire. Unknown ids are not kept
        # (a key created elsewhere works here at once).
        self._cache: SingleFlight[str, AccessKey | None] = SingleFlight(
            ttl=cache_ttl, maxsize=100_000, keep=_is_row, name="access_keys"
        )
        self.usage = UsageBuffer(db, usage_flush_seconds)
        self.roles = RoleService(db, audit, cache_ttl)
        self.admin = AccessKeyAdmin(
            db, audit, self.usage, self._hash, self.forget, env, grace_seconds, self.roles
        )

    async def load_pepper(self) -> None:
        """Unwrap the pepper, creating it on first start (first writer wins)."""
        self._pepper = await service_secret(
            self._kms, ServiceKeys(self._db), PEPPER_NAME, lambda: os.urandom(32)
        )

    def _hash(self, secret: str) -> bytes:
        assert self._pepper is not None, "load_pepper() not called"
        return hmac.new(self._pepper, secret.encode(), hashlib.sha256).digest()

    async def count(self) -> int:
        async with self._db.read() as s:
            return await access_repo.count(s)

    async def create(
        self, tenant: str, roles: list[str], description: str = "", actor: Actor | None = None
    ) -> tuple[str, str]:
        """Create an access key as the operator (CLI, bootstrap); returns (key id, full
        key). The key is shown only once. The API goes through ``admin.create``."""
        actor = actor or Actor("system:cli", tenant, f"cli-{uuid.uuid4().hex[:16]}", None)
        view, text = await self.admin.create(actor, SYSTEM, tenant, roles, description)
        return view.id, text

    def forget(self, key_id: str) -> None:
        """Drop a cached row (after a change made by this replica)."""
        self._cache.forget(key_id)

    async def close(self) -> None:
        await self._cache.close()
        await self.roles.close()
        await self.usage.close()

    async def _lookup(self, key_id: str, fresh: bool = False) -> tuple[AccessKey | None, bool]:
        """(row, whether it may predate this call: a cached row or a shared read that
        started earlier). ``fresh``: only a read started after this call will do."""

        async def read() -> AccessKey | None:
            async with self._db.read() as s:
                return await access_repo.get(s, key_id)

        return await self._cache.get(key_id, read, fresh=fresh), not fresh

    async def authenticate(
        self, header: str | None, request_id: str, client_addr: str | None
    ) -> Principal:
        """The principal for an ``X-API-Key`` value; every failure is audited. A key whose
        checksum fails is refused before any lookup."""
        parsed = tokens.parse(header) if header else None
        row: AccessKey | None = None
        reason: str | None = "missing" if not header else "malformed"
        if parsed is not None:
            digest = self._hash(parsed.secret)
            row, cached = await self._lookup(parsed.key_id)
            reason = _reject_reason(row, digest)
            if reason == "mismatch" and cached:
                # Perhaps rotated on another replica: a new secret must work at once.
                row, _ = await self._lookup(parsed.key_id, fresh=True)
                reason = _reject_reason(row, digest)
        if reason is None and row is not None:
            self.usage.record(row.id, client_addr)
            grants = await self.roles.resolve(row.tenant_id, row.roles)
            return Principal(row.id, row.tenant_id, tuple(row.roles), grants)
        actor = Actor(
            parsed.key_id if parsed else "anonymous",
            row.tenant_id if row else "-",
            request_id,
            client_addr,
        )
        await self._audit.append(
            AuditEvent(actor, AuthAction.API_KEY, Outcome.FAILURE, detail={"reason": reason})
        )
        raise AuthenticationFailed()


def _is_row(row: AccessKey | None) -> bool:
    return row is not None


def _reject_reason(row: AccessKey | None, digest: bytes) -> str | None:
    """Why a key with a valid checksum is refused (None: accepted). Only a caller that
    holds a real secret learns of (and is reported for) revoked, expired or past-grace."""
    if row is None:
        return "unknown"
    current = hmac.compare_digest(row.secret_hash, digest)
    previous = row.previous_secret_hash is not None and hmac.compare_digest(
        row.previous_secret_hash, digest
    )
    if not (current or previous):
        return "mismatch"
    now = datetime.now(UTC)
    if row.revoked_at is not None:
        return "revoked"
    if row.expires_at is not None and row.expires_at <= now:
        return "expired"
    if not current and (row.previous_valid_until is None or row.previous_valid_until <= now):
        return "past-grace"
    return None
