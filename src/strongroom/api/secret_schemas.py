"""Request and response shapes of the vault (api/routers/secrets.py, docs/secrets.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, Field

from strongroom.api.schemas import Strict, Timestamp, _integral, examples
from strongroom.secrets.models import (
    MAX_META_KEY,
    MAX_META_PAIRS,
    MAX_META_VALUE,
    SecretData,
    SecretMetadata,
    VersionInfo,
    WriteResult,
)

_WHEN = "2027-01-01T00:00:00Z"
# Integers that JSON Schema also allows as 3176.0 (api/schemas.py _integral).
Seconds = Annotated[int, Field(ge=0, le=10 * 365 * 86400), BeforeValidator(_integral)]
# A version fits the vault's integer column (a larger one would fail in the database).
SecretVersion = Annotated[int, Field(ge=1, le=2**31 - 1), BeforeValidator(_integral)]
Versions = Annotated[list[SecretVersion], Field(min_length=1, max_length=100)]
MetaKey = Annotated[str, Field(min_length=1, max_length=MAX_META_KEY)]
MetaValue = Annotated[str, Field(max_length=MAX_META_VALUE)]


class SecretWriteOptions(Strict):
    cas: Annotated[int, Field(ge=0), BeforeValidator(_integral)] | None = Field(
        default=None,
        description="Check-and-set: 0 writes only if the secret does not exist, N only "
        "if N is its newest version (else 409 SEC003)",
    )


class SecretWrite(Strict):
    model_config = examples(
        {"data": {"apiKey": "sk_live_…"}, "options": {"cas": 0}, "expiresAt": _WHEN}
    )
    data: dict[str, Any] = Field(description="The value: a JSON object (sealed at rest)")
    options: SecretWriteOptions = Field(default_factory=SecretWriteOptions)
    expiresAt: Timestamp | None = Field(
        default=None, description="After it this version reads 410 SEC004; reminders before"
    )
    label: Literal["current", "pending"] = Field(
        default="current",
        description="pending: stage the version for rotation without serving it; "
        "promote it with POST /api/v1/secrets/promote/{path}",
    )
    requestToken: Annotated[str, Field(min_length=8, max_length=200)] | None = Field(
        default=None,
        description="Idempotency: a retried write with the same token returns the version "
        "the first one made (replayed: true) instead of writing another",
    )


class SecretPatch(Strict):
    model_config = examples({"data": {"region": "eu", "old": None}, "options": {"cas": 3}})
    data: dict[str, Any] = Field(
        description="An RFC 7396 merge patch applied to the newest version (null removes)"
    )
    options: SecretWriteOptions = Field(default_factory=SecretWriteOptions)
    expiresAt: Timestamp | None = None
    requestToken: Annotated[str, Field(min_length=8, max_length=200)] | None = None


class SecretVersionsBody(Strict):
    model_config = examples({"versions": [1, 2]})
    versions: Versions


class SecretPromoteBody(Strict):
    model_config = examples({"version": 4})
    version: SecretVersion | None = Field(default=None, description="Default: the pending version")


class SecretMetadataPatch(Strict):
    model_config = examples(
        {"maxVersions": 5, "deleteVersionAfter": 0, "customMetadata": {"owner": "billing"}}
    )
    maxVersions: Annotated[int, Field(ge=1, le=1000), BeforeValidator(_integral)] | None = None
    deleteVersionAfter: Seconds | None = Field(
        default=None, description="Seconds after which a version reads as deleted; 0: never"
    )
    customMetadata: Annotated[dict[MetaKey, MetaValue], Field(max_length=MAX_META_PAIRS)] | None = (
        Field(default=None, description="Replaces the whole map (string to string)")
    )


_VERSION_EXAMPLE = {
    "version": 3,
    "createdAt": _WHEN,
    "createdBy": "abcdefghijk23456",
    "state": "live",
    "deletedAt": None,
    "destroyedAt": None,
    "expiresAt": None,
    "labels": ["current"],
}


class SecretVersionOut(BaseModel):
    model_config = examples(_VERSION_EXAMPLE)
    version: int
    createdAt: datetime
    createdBy: str
    state: Literal["live", "deleted", "destroyed", "expired"]
    deletedAt: datetime | None
    destroyedAt: datetime | None
    expiresAt: datetime | None
    labels: list[Literal["current", "pending", "previous"]]

    @classmethod
    def of(cls, v: VersionInfo) -> SecretVersionOut:
        return cls(
            version=v.version,
            createdAt=v.created_at,
            createdBy=v.created_by,
            state=v.state.value,
            deletedAt=v.deleted_at,
            destroyedAt=v.destroyed_at,
            expiresAt=v.expires_at,
            labels=[label.value for label in v.labels],
        )


class SecretOut(BaseModel):
    model_config = examples(
        {
            "path": "apps/billing/stripe",
            "data": {"apiKey": "sk_live_…"},
            "metadata": _VERSION_EXAMPLE,
            "customMetadata": {"owner": "billing"},
        }
    )
    path: str
    data: dict[str, Any]
    metadata: SecretVersionOut
    customMetadata: dict[str, str]

    @classmethod
    def of(cls, d: SecretData) -> SecretOut:
        return cls(
            path=d.path,
            data=d.data,
            metadata=SecretVersionOut.of(d.info),
            customMetadata=d.custom_metadata,
        )


class SecretWriteOut(BaseModel):
    model_config = examples(
        {"path": "apps/billing/stripe", "metadata": _VERSION_EXAMPLE, "replayed": False}
    )
    path: str
    metadata: SecretVersionOut
    replayed: bool

    @classmethod
    def of(cls, w: WriteResult) -> SecretWriteOut:
        return cls(path=w.path, metadata=SecretVersionOut.of(w.info), replayed=w.replayed)


class SecretMetadataOut(BaseModel):
    model_config = examples(
        {
            "path": "apps/billing/stripe",
            "currentVersion": 3,
            "latestVersion": 3,
            "pendingVersion": 0,
            "previousVersion": 2,
            "oldestVersion": 1,
            "maxVersions": 10,
            "deleteVersionAfter": 0,
            "customMetadata": {"owner": "billing"},
            "createdAt": _WHEN,
            "updatedAt": _WHEN,
            "versions": [_VERSION_EXAMPLE],
        }
    )
    path: str
    currentVersion: int
    latestVersion: int
    pendingVersion: int
    previousVersion: int
    oldestVersion: int
    maxVersions: int
    deleteVersionAfter: int
    customMetadata: dict[str, str]
    createdAt: datetime
    updatedAt: datetime
    versions: list[SecretVersionOut]

    @classmethod
    def of(cls, m: SecretMetadata) -> SecretMetadataOut:
        return cls(
            path=m.path,
            currentVersion=m.current_version,
            latestVersion=m.latest_version,
            pendingVersion=m.pending_version,
            previousVersion=m.previous_version,
            oldestVersion=m.oldest_version,
            maxVersions=m.max_versions,
            deleteVersionAfter=m.delete_version_after,
            customMetadata=m.custom_metadata,
            createdAt=m.created_at,
            updatedAt=m.updated_at,
            versions=[SecretVersionOut.of(v) for v in m.versions],
        )


class SecretVersionsOut(BaseModel):
    model_config = examples({"path": "apps/billing/stripe", "versions": [1, 2]})
    path: str
    versions: list[int] = Field(description="The versions the request changed")


class SecretListOut(BaseModel):
    model_config = examples({"keys": ["apps/billing/stripe"], "cursor": None})
    keys: list[str]
    cursor: str | None = Field(description="Pass as ?cursor= for the next page; null: last")
