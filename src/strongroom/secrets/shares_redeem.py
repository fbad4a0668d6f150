"""Redeeming a share (steps 1-4 of secrets/shares.py): find the token, check the
restriction and the passphrase, take one view atomically, record every attempt."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from strongroom.audit.actions import ShareAction
from strongroom.audit.interfaces import AuditSink
from strongroom.audit.models import AuditEvent, Outcome
from strongroom.context import Actor
from strongroom.datakeys import Purpose, Sealer
from strongroom.errors import AuthenticationFailed
from strongroom.secrets import shares_tokens as tokens
from strongroom.secrets.shares_kdf import PassphraseHasher
from strongroom.secrets.shares_models import (
    AccessOutcome,
    Encoding,
    PassphraseRequired,
    Revealed,
    SecretVersionSource,
    ShareGone,
    live,
)
from strongroom.store import shares_repo
from strongroom.store.db import Database
from strongroom.store.models import Share, ShareAccess
from strongroom.store.tenancy import isolated_scope, set_tenant, system_scope


@dataclasses.dataclass(frozen=True)
class Redeemer:
    """Who redeems: the acting ``actor`` (``anonymous`` without credentials) and, when
    authenticated, the principal id and the tenant the request acts in."""

    actor: Actor
    principal: str | None = None

    @property
    def tenant(self) -> str | None:
        """The tenant an authenticated request acts in (None: anonymous)."""
        return self.actor.tenant if self.principal is not None else None


@contextmanager
def _in_tenant(tenant: str) -> Iterator[None]:
    with isolated_scope():
        set_tenant(tenant)
        yield


class Redemptions:
    def __init__(
        self,
        db: Database,
        audit: AuditSink,
        sealer: Sealer,
        hasher: PassphraseHasher,
        token_digest: Callable[[str], Awaitable[bytes]],
        source: Callable[[], SecretVersionSource | None] = lambda: None,
    ) -> None:
        self._db, self._audit, self._sealer, self._hasher = db, audit, sealer, hasher
        self._token_digest, self._source = token_digest, source

    async def redeem(self, who: Redeemer, token: str, passphrase: str | None) -> Revealed:
        """Steps 1-4 of secrets/shares.py's docstring."""
        row = await self._lookup(token) if tokens.well_formed(token) else None
        if row is None:
            await self._fail(who.actor, None, "unknown")
            raise ShareGone()
        actor = dataclasses.replace(who.actor, tenant=row.tenant_id)
        with _in_tenant(row.tenant_id):
            return await self._redeem(actor, who, row, passphrase)

    async def _lookup(self, token: str) -> Share | None:
        digest = await self._token_digest(token)
        with system_scope():
            async with self._db.read() as s:
                return await shares_repo.by_token(s, digest)

    async def _redeem(
        self, actor: Actor, who: Redeemer, row: Share, passphrase: str | None
    ) -> Revealed:
        now = datetime.now(UTC)
        if not live(row, now):
            await self._fail(actor, row, "ended", AccessOutcome.GONE)
            raise ShareGone()
        if row.tenant_only:
            if who.principal is None:
                await self._fail(actor, row, "unauthenticated", AccessOutcome.UNAUTHENTICATED)
                raise AuthenticationFailed()
            allowed = row.allowed_principals
            if who.tenant != row.tenant_id or (allowed and who.principal not in allowed):
                await self._fail(actor, row, "principal", AccessOutcome.DENIED, Outcome.DENIED)
                raise ShareGone()
        if row.passphrase_hash is not None and not (
            passphrase and await self._hasher.verify_async(row.passphrase_hash, passphrase)
        ):
            await self._wrong_passphrase(actor, row, now)
        if row.source_path is not None and not await self._serves(row):
            await self._source_gone(actor, row, now)
        assert row.sealed is not None  # live
        # Opened before the view is taken: a record failing its integrity check (SYS003)
        # costs the holder no view.
        value = await self._sealer.open(row.tenant_id, Purpose.SHARE, (row.id,), row.sealed)
        async with self._db.transaction() as s:
            if not await shares_repo.take_view(s, row.id, now):
                taken = False
            else:
                taken = True
                self._log(s, actor, row, AccessOutcome.REVEALED, now)
                left = row.views_left - 1
                event = AuditEvent(
                    actor, ShareAction.REDEEM, Outcome.SUCCESS, row.id, detail={"viewsLeft": left}
                )
                self._audit.record_in(s, event)
        if not taken:  # another redeem took the last view meanwhile
            await self._fail(actor, row, "ended", AccessOutcome.GONE)
            raise ShareGone()
        encoding = Encoding(row.encoding)
        return Revealed(value, encoding, row.client_encrypted, row.views_left - 1, row.expires_at)

    async def _serves(self, row: Share) -> bool:
        """A vault version's share reveals only while that version still reads: one
        deleted (explicitly or by ``deleteVersionAfter``), destroyed or expired ends
        its shares, whatever a crash between the vault's steps left behind."""
        source = self._source()
        assert row.source_version is not None and row.source_path is not None
        return source is not None and await source.serves(
            row.tenant_id, row.source_path, row.source_version
        )

    async def _source_gone(self, actor: Actor, row: Share, now: datetime) -> None:
        async with self._db.transaction() as s:
            if await shares_repo.end(s, row.id, now, "revoked"):
                detail = {"reason": "source-gone", "sourceVersion": row.source_version}
                private = {"sourcePath": row.source_path or ""}
                event = AuditEvent(
                    actor, ShareAction.END, Outcome.SUCCESS, row.id, detail=detail,
                    private=private,
                )  # fmt: skip
                self._audit.record_in(s, event)
        await self._fail(actor, row, "ended", AccessOutcome.GONE)
        raise ShareGone()

    async def _wrong_passphrase(self, actor: Actor, row: Share, now: datetime) -> None:
        async with self._db.transaction() as s:
            left = await shares_repo.fail_attempt(s, row.id, now)
            if left is None:  # ended meanwhile
                gone = True
            else:
                gone = False
                self._log(s, actor, row, AccessOutcome.PASSPHRASE, now)
                detail: dict[str, Any] = {"reason": "passphrase", "attemptsLeft": left}
                if left == 0:
                    detail["locked"] = True
                event = AuditEvent(
                    actor, ShareAction.REDEEM, Outcome.FAILURE, row.id, detail=detail
                )
                self._audit.record_in(s, event)
        if gone or left == 0:
            raise ShareGone()
        raise PassphraseRequired()

    async def _fail(
        self,
        actor: Actor,
        row: Share | None,
        reason: str,
        outcome: AccessOutcome | None = None,
        result: Outcome = Outcome.FAILURE,
    ) -> None:
        target = row.id if row is not None else None
        event = AuditEvent(actor, ShareAction.REDEEM, result, target, detail={"reason": reason})
        if row is None or outcome is None:
            await self._audit.append(event)
            return
        async with self._db.transaction() as s:
            self._log(s, actor, row, outcome, datetime.now(UTC))
            self._audit.record_in(s, event)

    @staticmethod
    def _log(
        s: AsyncSession, actor: Actor, row: Share, outcome: AccessOutcome, now: datetime
    ) -> None:
        shares_repo.log_access(
            s,
            ShareAccess(
                share_id=row.id,
                tenant_id=row.tenant_id,
                at=now,
                outcome=outcome.value,
                actor=actor.principal,
                request_id=actor.request_id,
            ),
        )
