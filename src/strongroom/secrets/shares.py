"""Shares: one value behind a token that reveals it a few times (default once), then
never again.

A share keeps its own copy of the value, sealed under the tenant's data key and bound
to the share's id (datakeys ``Purpose.SHARE``), taken either from a version of a vault
secret (``SecretVersionSource``) or posted by the creator; in client-encrypted mode
that value is ciphertext whose key only the link's fragment carries.

Redeeming (the only way to a value) is an explicit POST carrying the token:
1. the token's keyed hash finds the share, in system scope (the holder's tenant is not
   known before), then everything else runs in the share's tenant;
2. a share restricted to the tenant or to named principals wants a principal of its
   tenant (401 without credentials; another principal gets the answer of a missing
   share);
3. a passphrase, when set, must match; a wrong or missing one is counted (never a
   view), recorded and audited, and the share ends after ``passphrase_attempts``;
4. one view is taken by a single conditional UPDATE (shares_repo.take_view), committed
   with its audit record: of any number of parallel redeems of a one-view share,
   exactly one reveals. The last view wipes the sealed value in the same statement.

Every ending (used up, revoked, expired, locked) wipes the value at
once; the rows stay listed for ``keep_ended_days``, then the purge job deletes them.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
from datetime import UTC, datetime, timedelta

from strongroom.audit.actions import ShareAction
from strongroom.audit.interfaces import AuditSink
from strongroom.audit.models import AuditEvent, Outcome
from strongroom.context import Actor
from strongroom.datakeys import Purpose, Sealer
from strongroom.errors import InvalidInput, PayloadTooLarge
from strongroom.kms.interfaces import Kms
from strongroom.kms.secrets import service_secret
from strongroom.secrets import shares_tokens as tokens
from strongroom.secrets.shares_kdf import PassphraseHasher
from strongroom.secrets.shares_models import (
    AccessView,
    Encoding,
    NewShare,
    Revealed,
    SecretVersionSource,
    ShareGone,
    ShareView,
)
from strongroom.secrets.shares_redeem import Redeemer, Redemptions
from strongroom.store import shares_repo
from strongroom.store.db import Database
from strongroom.store.models import Share
from strongroom.store.service_keys import ServiceKeys
from strongroom.store.tenancy import system_scope

PEPPER_NAME = "share-token-pepper"
MAX_PRINCIPALS = 20
# Hard caps; the configured maxima (config/shares.py) are at most these.
MAX_TTL_SECONDS = 365 * 86400
MAX_VIEWS = 10_000


@dataclasses.dataclass(frozen=True)
class ShareLimits:
    max_ttl_seconds: int = 30 * 86400
    max_views: int = 100
    max_value_bytes: int = 65536
    passphrase_attempts: int = 5
    keep_ended_days: float = 7.0


class ShareService:
    def __init__(
        self,
        db: Database,
        kms: Kms,
        audit: AuditSink,
        sealer: Sealer,
        hasher: PassphraseHasher,
        limits: ShareLimits,
        source: SecretVersionSource | None = None,
    ) -> None:
        self._db, self._kms, self._audit, self._sealer = db, kms, audit, sealer
        self._hasher, self.limits, self.source = hasher, limits, source
        self._pepper: bytes | None = None
        self._pepper_lock = asyncio.Lock()
        self._redemptions = Redemptions(
            db, audit, sealer, hasher, self._token_hash, lambda: self.source
        )

    async def _token_hash(self, token: str) -> bytes:
        if self._pepper is None:
            async with self._pepper_lock:
                if self._pepper is None:
                    with system_scope():
                        self._pepper = await service_secret(
                            self._kms, ServiceKeys(self._db), PEPPER_NAME, lambda: os.urandom(32)
                        )
        return tokens.digest(self._pepper, token)

    # creating --------------------------------------------------------------
    async def create(
        self, actor: Actor, new: NewShare, *, source_authorized: bool = False
    ) -> tuple[ShareView, str]:
        """A new share in ``actor.tenant``: its view and the token (shown only here).
        ``source_authorized``: the caller checked that ``actor`` may read the vault
        version it shares (a share must never reach further than its creator)."""
        if new.source is not None and not source_authorized:
            raise InvalidInput("sharing vault secrets is not available")
        value, encoding = await self._value(actor.tenant, new)
        self._check(new, value)
        now = datetime.now(UTC)
        share_id, token = tokens.new_id(), tokens.generate()
        sealed = await self._sealer.seal(actor.tenant, Purpose.SHARE, (share_id,), value)
        pp = new.passphrase
        row = Share(
            id=share_id,
            tenant_id=actor.tenant,
            token_hash=await self._token_hash(token),
            created_by=actor.principal,
            created_at=now,
            expires_at=now + timedelta(seconds=new.expires_in_seconds),
            max_views=new.views,
            views_left=new.views,
            failed_attempts=0,
            max_attempts=self.limits.passphrase_attempts,
            passphrase_hash=await self._hasher.hash_async(pp) if pp else None,
            sealed=sealed,
            encoding=encoding.value,
            client_encrypted=new.client_encrypted,
            source_path=new.source[0] if new.source else None,
            source_version=new.source[1] if new.source else None,
            tenant_only=new.tenant_only or bool(new.principals),
            allowed_principals=list(new.principals) or None,
        )
        detail = {
            "views": new.views,
            "expiresInSeconds": new.expires_in_seconds,
            "passphrase": pp is not None,
            "passphraseKdf": self._hasher.algorithm if pp else None,
            "clientEncrypted": new.client_encrypted,
            "restricted": row.tenant_only,
            "sourceVersion": row.source_version,
        }
        private = {"sourcePath": row.source_path} if row.source_path else None
        event = AuditEvent(
            actor, ShareAction.CREATE, Outcome.SUCCESS, share_id, detail=detail, private=private
        )
        async with self._db.transaction() as s:
            shares_repo.add(s, row)
            self._audit.record_in(s, event)
        return ShareView.of(row, now), token

    async def _value(self, tenant: str, new: NewShare) -> tuple[bytes, Encoding]:
        if (new.value is None) == (new.source is None):
            raise InvalidInput("give either a value or a source")
        if new.value is not None:
            return new.value, new.encoding
        if self.source is None:
            raise InvalidInput("sharing vault secrets is not available")
        assert new.source is not None
        raw = await self.source.read_for_share(tenant, *new.source)
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            return raw, Encoding.BASE64
        return raw, Encoding.UTF8

    def _check(self, new: NewShare, value: bytes) -> None:
        lim = self.limits
        if not 60 <= new.expires_in_seconds <= lim.max_ttl_seconds:
            raise InvalidInput("expiry beyond the configured maximum", maximum=lim.max_ttl_seconds)
        if not 1 <= new.views <= lim.max_views:
            raise InvalidInput("views beyond the configured maximum", maximum=lim.max_views)
        if len(new.principals) > MAX_PRINCIPALS:
            raise InvalidInput("too many principals", maximum=MAX_PRINCIPALS)
        if len(value) > lim.max_value_bytes:
            raise PayloadTooLarge("share value too large", maximum=lim.max_value_bytes)
        if new.client_encrypted and new.source is not None:
            raise InvalidInput("a vault secret cannot be shared client-encrypted")

    # redeeming: secrets/shares_redeem.py -----------------------------------
    async def redeem(self, who: Redeemer, token: str, passphrase: str | None) -> Revealed:
        """Reveal the value and take one view (the only way to a value)."""
        return await self._redemptions.redeem(who, token, passphrase)

    # managing --------------------------------------------------------------
    async def list_shares(
        self, tenant: str, created_by: str | None, limit: int, after: str | None
    ) -> tuple[list[ShareView], str | None]:
        """One page ordered by id and the next cursor (None: last page); only the shares
        ``created_by`` made, when given."""
        async with self._db.read() as s:
            rows = await shares_repo.page(s, tenant, created_by, limit + 1, after)
        now = datetime.now(UTC)
        views = [ShareView.of(r, now) for r in rows[:limit]]
        return views, (rows[limit - 1].id if len(rows) > limit else None)

    async def show(self, tenant: str, share_id: str, created_by: str | None) -> ShareView:
        return ShareView.of(await self._get(tenant, share_id, created_by), datetime.now(UTC))

    async def _get(self, tenant: str, share_id: str, created_by: str | None) -> Share:
        async with self._db.read() as s:
            row = await shares_repo.get(s, tenant, share_id)
        if row is None or (created_by is not None and row.created_by != created_by):
            raise ShareGone()
        return row

    async def revoke(self, actor: Actor, share_id: str, created_by: str | None) -> ShareView:
        """End the share now (its value is wiped). Revoking an ended share changes and
        records nothing."""
        await self._get(actor.tenant, share_id, created_by)
        now = datetime.now(UTC)
        async with self._db.transaction() as s:
            if await shares_repo.end(s, share_id, now, "revoked"):
                event = AuditEvent(actor, ShareAction.REVOKE, Outcome.SUCCESS, share_id)
                self._audit.record_in(s, event)
        return await self.show(actor.tenant, share_id, created_by)

    async def accesses(
        self, tenant: str, share_id: str, created_by: str | None, limit: int, after: int | None
    ) -> tuple[list[AccessView], int | None]:
        await self._get(tenant, share_id, created_by)
        async with self._db.read() as s:
            rows = await shares_repo.accesses(s, tenant, share_id, limit + 1, after)
        views = [AccessView.of(r) for r in rows[:limit]]
        return views, (rows[limit - 1].id if len(rows) > limit else None)

    # the vault's hooks and the purge job ------------------------------------
    async def delete_for_version(
        self, actor: Actor, tenant: str, path: str, version: int | None
    ) -> int:
        """The vault destroyed or deleted a version (every version: None): delete its
        shares. For a vault that wants it inside its own transaction:
        ``shares_repo.delete_for_version(session, ...)``."""
        async with self._db.transaction() as s:
            n = await shares_repo.delete_for_version(s, tenant, path, version)
            if n:
                event = AuditEvent(
                    dataclasses.replace(actor, tenant=tenant),
                    ShareAction.PURGE,
                    Outcome.SUCCESS,
                    item_count=n,
                    detail={"reason": "source-deleted", "sourceVersion": version},
                    private={"sourcePath": path},
                )
                self._audit.record_in(s, event)
        return n

    async def end_due(self, now: datetime, rid: str) -> tuple[int, int]:
        """End live shares past expiry (wiping their values) and delete the rows of
        shares ended more than ``keep_ended_days`` ago: (ended, deleted)."""
        before = now - timedelta(days=self.limits.keep_ended_days)
        async with self._db.transaction() as s:
            ended = await shares_repo.expire_due(s, now)
            for tenant, share_id in ended:
                actor = Actor("system:shares", tenant, rid, None)
                detail = {"reason": "expired"}
                event = AuditEvent(actor, ShareAction.END, Outcome.SUCCESS, share_id, detail=detail)
                self._audit.record_in(s, event)
            purged = await shares_repo.purge_ended(s, before)
            for tenant, count in purged.items():
                actor = Actor("system:shares", tenant, rid, None)
                event = AuditEvent(actor, ShareAction.PURGE, Outcome.SUCCESS, item_count=count)
                self._audit.record_in(s, event)
        return len(ended), sum(purged.values())
