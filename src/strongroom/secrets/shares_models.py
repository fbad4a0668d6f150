"""What the share service takes and gives: requests, views, errors, and the one thing
it needs from the vault (``SecretVersionSource``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from strongroom.errors import StrongroomError
from strongroom.store.models import Share, ShareAccess


class ShareGone(StrongroomError):
    """One answer for a token that never existed, a share used up, expired, revoked or
    locked, and a restricted share the caller may not open: a holder learns nothing
    about which (and a guesser nothing at all)."""

    code, status, message = "SHR001", 404, "share not found or no longer available"


class PassphraseRequired(StrongroomError):
    """The share wants a passphrase: none was given, or the wrong one. Counted; the
    share ends after too many (then ``SHR001``)."""

    code, status, message = "SHR002", 403, "passphrase required or incorrect"


class SecretVersionSource(Protocol):
    """The vault, as shares see it (wired in services/container.py): the plaintext of
    one version of a secret, for a share's own sealed copy. Raises the vault's own
    not-found error when there is no such (live) version."""

    async def read_for_share(self, tenant: str, path: str, version: int) -> bytes: ...

    async def serves(self, tenant: str, path: str, version: int) -> bool:
        """Whether that version still reads (not deleted, destroyed or expired)."""
        ...


class ShareState(StrEnum):
    ACTIVE = "active"
    USED = "used"
    REVOKED = "revoked"
    EXPIRED = "expired"
    LOCKED = "locked"  # too many wrong passphrases


class Encoding(StrEnum):
    UTF8 = "utf-8"
    BASE64 = "base64"


@dataclass(frozen=True)
class NewShare:
    """``value`` (ad hoc) or ``source`` (path, version of a vault secret), not both."""

    expires_in_seconds: int
    views: int = 1
    value: bytes | None = None
    encoding: Encoding = Encoding.UTF8
    source: tuple[str, int] | None = None
    passphrase: str | None = None
    client_encrypted: bool = False
    tenant_only: bool = False
    principals: tuple[str, ...] = ()


@dataclass(frozen=True)
class ShareView:
    id: str
    tenant: str
    state: ShareState
    created_by: str
    created_at: datetime
    expires_at: datetime
    max_views: int
    views_left: int
    failed_attempts: int
    passphrase: bool
    client_encrypted: bool
    source_path: str | None
    source_version: int | None
    tenant_only: bool
    principals: tuple[str, ...]
    ended_at: datetime | None
    last_access_at: datetime | None

    @classmethod
    def of(cls, r: Share, now: datetime) -> ShareView:
        return cls(
            r.id,
            r.tenant_id,
            state_of(r, now),
            r.created_by,
            r.created_at,
            r.expires_at,
            r.max_views,
            r.views_left,
            r.failed_attempts,
            r.passphrase_hash is not None,
            r.client_encrypted,
            r.source_path,
            r.source_version,
            r.tenant_only,
            tuple(r.allowed_principals or ()),
            r.ended_at,
            r.last_access_at,
        )


def state_of(r: Share, now: datetime) -> ShareState:
    if r.end_reason is not None:
        return ShareState(r.end_reason)
    if r.expires_at <= now:
        return ShareState.EXPIRED  # the purge job has not wiped it yet
    return ShareState.USED if r.views_left <= 0 else ShareState.ACTIVE


def live(r: Share, now: datetime) -> bool:
    return state_of(r, now) is ShareState.ACTIVE and r.sealed is not None


@dataclass(frozen=True)
class Revealed:
    value: bytes
    encoding: Encoding
    client_encrypted: bool
    views_left: int
    expires_at: datetime


class AccessOutcome(StrEnum):
    REVEALED = "revealed"
    PASSPHRASE = "passphrase"  # noqa: S105 (an outcome) missing or wrong passphrase
    UNAUTHENTICATED = "unauthenticated"  # a restricted share, no credentials
    DENIED = "denied"  # a restricted share, another principal
    GONE = "gone"  # used up, expired, revoked or locked by then


@dataclass(frozen=True)
class AccessView:
    id: int
    at: datetime
    outcome: str
    actor: str
    request_id: str

    @classmethod
    def of(cls, r: ShareAccess) -> AccessView:
        return cls(r.id, r.at, r.outcome, r.actor, r.request_id)
