"""Domain views of per-user keys (no secret material)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from strongroom.crypto.suites import KEY_TYPES, SuiteId
from strongroom.store.models.keys import MAX_USER_ID_LENGTH as _COLUMN_LIMIT
from strongroom.store.models.keys import USER_ID_PATTERN as USER_ID_PATTERN

# The longest user id a key can have: the API refuses longer ones, the columns hold it.
MAX_USER_ID_LENGTH = _COLUMN_LIMIT


class KeyState(StrEnum):
    ENABLED = "enabled"
    PENDING_DELETION = "pending_deletion"
    DESTROYED = "destroyed"


class VersionState(StrEnum):
    ACTIVE = "active"
    DESTROYED = "destroyed"


class RotationReason(StrEnum):
    CREATED = "created"
    SCHEDULED = "scheduled"
    ON_DEMAND = "on-demand"
    COMPLIANCE = "compliance"
    COMPROMISE = "compromise"


@dataclass(frozen=True)
class VersionInfo:
    version: int
    state: VersionState
    created_at: datetime
    destroyed_at: datetime | None
    public_key: bytes | None


@dataclass(frozen=True)
class KeyInfo:
    """A consistent snapshot of one key row and its versions."""

    key_id: int
    tenant: str
    user_id: str
    key_type: str
    state: KeyState
    current_version: int
    min_decryption_version: int
    rotation_period_days: int
    deletion_date: datetime | None
    generation: int
    created_at: datetime
    updated_at: datetime
    last_rotated_at: datetime
    versions: tuple[VersionInfo, ...]

    @property
    def suite(self) -> SuiteId:
        return KEY_TYPES[self.key_type]

    def version(self, n: int) -> VersionInfo | None:
        for v in self.versions:
            if v.version == n:
                return v
        return None

    @property
    def current(self) -> VersionInfo:
        v = self.version(self.current_version)
        assert v is not None, "current version row missing"
        return v


@dataclass(frozen=True)
class HistoryEntry:
    version: int
    event: str
    reason: str | None
    actor: str
    at: datetime
