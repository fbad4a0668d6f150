"""What the lifecycle API and CLI show of an access key: never its secret or hash."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from strongroom.store.models import AccessKey


class AccessKeyState(StrEnum):
    """An access key's state (a user key's is keys.models.KeyState, another vocabulary)."""

    ACTIVE = "active"
    EXPIRED = "expired"
    REVOKED = "revoked"


def state_of(row: AccessKey, now: datetime) -> AccessKeyState:
    if row.revoked_at is not None:
        return AccessKeyState.REVOKED
    if row.expires_at is not None and row.expires_at <= now:
        return AccessKeyState.EXPIRED
    return AccessKeyState.ACTIVE


@dataclass(frozen=True)
class AccessKeyView:
    id: str
    tenant: str
    roles: tuple[str, ...]
    description: str
    state: AccessKeyState
    created_at: datetime
    created_by: str | None
    expires_at: datetime | None
    revoked_at: datetime | None
    rotated_at: datetime | None
    previous_valid_until: datetime | None  # the previous secret works until then
    last_used_at: datetime | None
    last_used_addr: str | None

    @classmethod
    def of(
        cls, row: AccessKey, now: datetime, pending: tuple[datetime, str | None] | None = None
    ) -> AccessKeyView:
        used_at, used_addr = row.last_used_at, row.last_used_addr
        if pending is not None and (used_at is None or pending[0] > used_at):
            used_at, used_addr = pending
        grace = row.previous_valid_until
        return cls(
            id=row.id,
            tenant=row.tenant_id,
            roles=tuple(row.roles),
            description=row.description,
            state=state_of(row, now),
            created_at=row.created_at,
            created_by=row.created_by,
            expires_at=row.expires_at,
            revoked_at=row.revoked_at,
            rotated_at=row.rotated_at,
            previous_valid_until=grace if grace is not None and grace > now else None,
            last_used_at=used_at,
            last_used_addr=used_addr,
        )
