"""Access keys: bootstrap, creation and authentication.

Secrets are stored only as HMAC-SHA256(pepper, secret); the pepper is wrapped by
the KMS and unwrapped once at start-up, so authentication needs no KMS call.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import time
from datetime import UTC, datetime

from sqlalchemy import func, select

from strongroom.access import tokens
from strongroom.access.models import BUILTIN_ROLES, Principal
from strongroom.audit.models import Actor, AuditEvent, Outcome
from strongroom.audit.service import AuditSink
from strongroom.errors import AuthenticationFailed, InvalidInput
from strongroom.kms.interfaces import Kms, Wrapped
from strongroom.store.db import Database
from strongroom.store.models import AccessKey, ServiceKey

PEPPER_NAME = "access-key-pepper"
_PEPPER_CTX = {"purpose": "access-key-pepper"}


class AccessService:
    def __init__(
        self, db: Database, kms: Kms, audit: AuditSink, env: str = "live", cache_ttl: float = 5.0
    ) -> None:
        self._db, self._kms, self._audit, self._env = db, kms, audit, env
        self._pepper: bytes | None = None
        self._cache: dict[str, tuple[float, AccessKey]] = {}
        self._ttl = cache_ttl

    async def load_pepper(self) -> None:
        """Unwrap the pepper, creating it on first start."""
        async with self._db.transaction() as s:
            row = await s.get(ServiceKey, PEPPER_NAME)
            if row is None:
                pepper = os.urandom(32)
                w = await self._kms.wrap(pepper, _PEPPER_CTX)
                s.add(
                    ServiceKey(
                        name=PEPPER_NAME,
                        kms_key_ref=w.key_ref,
                        wrapped=w.blob,
                        created_at=datetime.now(UTC),
                    )
                )
                self._pepper = pepper
                return
        self._pepper = await self._kms.unwrap(Wrapped(row.kms_key_ref, row.wrapped), _PEPPER_CTX)

    def _hash(self, secret: str) -> bytes:
        assert self._pepper is not None, "load_pepper() not called"
        return hmac.new(self._pepper, secret.encode(), hashlib.sha256).digest()

    async def count(self) -> int:
        async with self._db.read() as s:
            return int((await s.execute(select(func.count()).select_from(AccessKey))).scalar_one())

    async def create(
        self, tenant: str, roles: list[str], description: str = "", actor: Actor | None = None
    ) -> tuple[str, str]:
        """Create an access key; returns (key id, full key). The key is shown only once."""
        unknown = [r for r in roles if r not in BUILTIN_ROLES]
        if unknown or not roles:
            raise InvalidInput("unknown role", roles=sorted(BUILTIN_ROLES))
        text, parsed = tokens.generate(self._env)
        actor = actor or Actor("system:cli", tenant, f"cli-{parsed.key_id}", None)
        async with self._db.transaction() as s:
            s.add(
                AccessKey(
                    id=parsed.key_id,
                    tenant_id=tenant,
                    roles=roles,
                    description=description[:500],
                    secret_hash=self._hash(parsed.secret),
                    created_at=datetime.now(UTC),
                )
            )
            self._audit.record_in(
                s,
                AuditEvent(
                    actor,
                    "access_key.create",
                    Outcome.SUCCESS,
                    target=parsed.key_id,
                    detail={"roles": roles},
                ),
            )
        return parsed.key_id, text

    async def _lookup(self, key_id: str) -> AccessKey | None:
        hit = self._cache.get(key_id)
        if hit is not None and time.monotonic() - hit[0] < self._ttl:
            return hit[1]
        async with self._db.read() as s:
            row = await s.get(AccessKey, key_id)
        if row is not None:
            self._cache[key_id] = (time.monotonic(), row)
        return row

    async def authenticate(
        self, header: str | None, request_id: str, client_addr: str | None
    ) -> Principal:
        """The principal for an ``X-API-Key`` value; every failure is audited."""
        parsed = tokens.parse(header) if header else None
        row = await self._lookup(parsed.key_id) if parsed else None
        reason = self._reject_reason(header, parsed, row)
        if reason is None and row is not None:
            return Principal(row.id, row.tenant_id, tuple(row.roles))
        actor = Actor(
            parsed.key_id if parsed else "anonymous",
            row.tenant_id if row else "-",
            request_id,
            client_addr,
        )
        await self._audit.append(
            AuditEvent(actor, "auth.api_key", Outcome.FAILURE, detail={"reason": reason})
        )
        raise AuthenticationFailed()

    def _reject_reason(
        self, header: str | None, parsed: tokens.ParsedKey | None, row: AccessKey | None
    ) -> str | None:
        if not header:
            return "missing"
        if parsed is None:
            return "malformed"
        if row is None:
            return "unknown"
        if not hmac.compare_digest(row.secret_hash, self._hash(parsed.secret)):
            return "mismatch"
        now = datetime.now(UTC)
        if row.revoked_at is not None:
            return "revoked"
        if row.expires_at is not None and row.expires_at <= now:
            return "expired"
        return None
