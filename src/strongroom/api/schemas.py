"""Request and response shapes. The four seed endpoints keep the seed's exact field
names (``userId``, ``data``, ``encryptedData``, ``decryptedData``, ``rotatedData``);
fields are only ever added."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from strongroom.crypto.codec import b64url
from strongroom.crypto.suites import KeyType
from strongroom.errors import StrongroomError
from strongroom.keys.models import MAX_USER_ID_LENGTH, USER_ID_PATTERN, HistoryEntry, KeyInfo

UserId = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_USER_ID_LENGTH, pattern=USER_ID_PATTERN),
]
# crypto.suites.KeyType's members as a Literal: the OpenAPI document keeps its inline
# enum (a StrEnum field would become a $ref) and strict validation accepts the strings.
# tests/unit/test_catalogues.py checks that it lists every member.
KeyTypeName = Literal[
    KeyType.X25519_HPKE, KeyType.P256_HPKE, KeyType.MLKEM768_X25519_HPKE, KeyType.AES256_GCM
]
Context = Annotated[str | None, Field(default=None, description="Bound as AAD; must match")]
# Opt-in per-item results (keys/per_item.py); the default stays all or nothing.
Partial = Annotated[
    bool,
    Field(
        default=False,
        description="true: answer each item's result or error (HTTP 200) instead of "
        "failing the whole batch on one bad item",
    ),
]


class Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")


class CreateKeyRequest(Strict):
    userId: UserId
    keyType: KeyTypeName | None = None
    rotationPeriodDays: Annotated[int | None, Field(ge=1, le=3650)] = None


class EncryptRequest(Strict):
    userId: UserId
    data: list[str]
    context: Context = None


class DecryptRequest(EncryptRequest):
    partial: Partial = False


class RewrapRequest(EncryptRequest):
    partial: Partial = False


class RotateRequest(Strict):
    userId: UserId
    data: list[Any]
    reason: Literal["on-demand", "compliance", "compromise"] = "on-demand"
    context: Context = None


class PolicyRequest(Strict):
    model_config = ConfigDict(strict=True, extra="forbid")
    minDecryptionVersion: Annotated[int | None, Field(ge=1)] = None
    rotationPeriodDays: Annotated[int | None, Field(ge=1, le=3650)] = None


class DeletionRequest(Strict):
    waitingPeriodDays: Annotated[float | None, Field(ge=0, le=365)] = None


class EncryptResponse(BaseModel):
    encryptedData: list[str]


class DecryptResponse(BaseModel):
    decryptedData: list[str]


class ItemError(BaseModel):
    """One item's failure in a per-item answer: the code and message the whole batch
    would have failed with by default, and the item's index. Never the item itself."""

    code: str
    message: str
    index: int

    @classmethod
    def of(cls, exc: StrongroomError, index: int) -> ItemError:
        return cls(code=exc.code, message=exc.text, index=index)


class DecryptItem(BaseModel):
    decryptedData: str | None = None
    error: ItemError | None = None


class DecryptItemsResponse(BaseModel):
    """``partial: true``: per item, in order, its plaintext or its error."""

    results: list[DecryptItem]
    succeeded: int
    failed: int

    @classmethod
    def of(cls, results: list[str | StrongroomError]) -> DecryptItemsResponse:
        items = [
            DecryptItem(error=ItemError.of(r, i))
            if isinstance(r, StrongroomError)
            else DecryptItem(decryptedData=r)
            for i, r in enumerate(results)
        ]
        failed = sum(1 for item in items if item.error is not None)
        return cls(results=items, succeeded=len(items) - failed, failed=failed)


class RotateResponse(BaseModel):
    rotatedData: list[Any]
    version: int


class RewrapResponse(BaseModel):
    rewrappedData: list[str]
    version: int


class RewrapItem(BaseModel):
    rewrappedData: str | None = None
    error: ItemError | None = None


class RewrapItemsResponse(BaseModel):
    """``partial: true``: per item, in order, its new ciphertext or its error."""

    results: list[RewrapItem]
    succeeded: int
    failed: int
    version: int

    @classmethod
    def of(cls, results: list[str | StrongroomError], version: int) -> RewrapItemsResponse:
        items = [
            RewrapItem(error=ItemError.of(r, i))
            if isinstance(r, StrongroomError)
            else RewrapItem(rewrappedData=r)
            for i, r in enumerate(results)
        ]
        failed = sum(1 for item in items if item.error is not None)
        return cls(results=items, succeeded=len(items) - failed, failed=failed, version=version)


class VersionOut(BaseModel):
    version: int
    state: str
    createdAt: datetime
    destroyedAt: datetime | None


class KeyMetadata(BaseModel):
    success: bool = True
    userId: str
    keyType: str
    state: str
    currentVersion: int
    minDecryptionVersion: int
    rotationPeriodDays: int
    nextRotationAt: datetime
    deletionDate: datetime | None
    createdAt: datetime
    lastRotatedAt: datetime
    publicKey: str | None
    versions: list[VersionOut]

    @classmethod
    def of(cls, info: KeyInfo) -> KeyMetadata:
        pub = info.current.public_key
        return cls(
            userId=info.user_id,
            keyType=info.key_type,
            state=info.state.value,
            currentVersion=info.current_version,
            minDecryptionVersion=info.min_decryption_version,
            rotationPeriodDays=info.rotation_period_days,
            nextRotationAt=info.last_rotated_at + timedelta(days=info.rotation_period_days),
            deletionDate=info.deletion_date,
            createdAt=info.created_at,
            lastRotatedAt=info.last_rotated_at,
            publicKey=b64url(pub) if pub else None,
            versions=[
                VersionOut(
                    version=v.version,
                    state=v.state.value,
                    createdAt=v.created_at,
                    destroyedAt=v.destroyed_at,
                )
                for v in info.versions
            ],
        )


class PublicKeyOut(BaseModel):
    userId: str
    keyType: str
    version: int
    publicKey: str = Field(description="base64url, no padding; layout in docs/ciphertext.md")
    ciphertextPrefix: str


class HistoryItem(BaseModel):
    version: int
    event: str
    reason: str | None
    actor: str
    at: datetime

    @classmethod
    def of(cls, h: HistoryEntry) -> HistoryItem:
        return cls(version=h.version, event=h.event, reason=h.reason, actor=h.actor, at=h.at)


class HistoryOut(BaseModel):
    userId: str
    history: list[HistoryItem]


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: dict[str, Any] | None = None


class ErrorOut(BaseModel):
    success: Literal[False] = False
    error: ErrorDetail
    requestId: str | None
