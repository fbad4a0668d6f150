"""Request and response shapes. The four seed endpoints keep the seed's exact field
names (``userId``, ``data``, ``encryptedData``, ``decryptedData``, ``rotatedData``);
fields are only ever added."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
)

from strongroom.crypto.codec import b64url
from strongroom.crypto.suites import KeyType
from strongroom.errors import StrongroomError
from strongroom.keys.models import (
    MAX_USER_ID_LENGTH,
    USER_ID_PATTERN,
    HistoryEntry,
    KeyInfo,
    KeyState,
    VersionState,
)

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


def _integral(value: Any) -> Any:
    """JSON Schema counts ``3176.0`` as an integer, so clients may send it: taken as
    3176; a fraction is still refused."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# The bounds before the validator: after it, pydantic writes them into the JSON
# schema under its own names (ge, le) instead of minimum and maximum.
Days = Annotated[int, Field(ge=1, le=3650), BeforeValidator(_integral)]
Version = Annotated[int, Field(ge=1), BeforeValidator(_integral)]
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})")


def _rfc3339(value: Any) -> Any:
    """What the schema's ``date-time`` format says (RFC 3339, with an offset): pydantic
    alone would also take ``0.5`` or ``"0.5"`` as a Unix time."""
    if isinstance(value, datetime) or (isinstance(value, str) and _RFC3339.fullmatch(value)):
        return value
    raise ValueError("expected an RFC 3339 date-time with an offset")


def _representable(value: datetime) -> datetime:
    """Every layer below compares and stores UTC: ``0001-01-01T00:00:00+01:00`` is a valid
    RFC 3339 time whose UTC falls before year 1, which Python cannot hold (it was a 500
    in the audit queries). Such an instant is clamped to the calendar's edge in UTC, as
    pki.facts.utc does: nothing happened before year 1 or happens after 9999."""
    try:
        value.astimezone(UTC)
    except OverflowError:
        edge = datetime.min if value.year == 1 else datetime.max
        return edge.replace(tzinfo=UTC)
    return value


# Not strict: a JSON body and a query carry a date-time as a string.
Timestamp = Annotated[
    AwareDatetime,
    BeforeValidator(_rfc3339),
    AfterValidator(_representable),
    Field(strict=False),
]
EXAMPLE_CIPHERTEXT = "sr:v1:AQAgx25519hpke-base64url-payload"


def examples(*values: dict[str, Any]) -> ConfigDict:
    """A model's examples in the OpenAPI document (``json_schema_extra``)."""
    return ConfigDict(json_schema_extra={"examples": list(values)})


class Strict(BaseModel):
    """Request bodies: strict types, and an unknown field (a misspelled ``contxt``) is
    refused with its name rather than ignored."""

    model_config = ConfigDict(strict=True, extra="forbid")


class CreateKeyRequest(Strict):
    model_config = examples(
        {"userId": "alice", "keyType": KeyType.X25519_HPKE, "rotationPeriodDays": 90}
    )
    userId: UserId
    keyType: KeyTypeName | None = None
    rotationPeriodDays: Days | None = None


class EncryptRequest(Strict):
    model_config = examples({"userId": "alice", "data": ["hello"], "context": "invoice-42"})
    userId: UserId
    data: list[str]
    context: Context = None


class DecryptRequest(EncryptRequest):
    model_config = examples({"userId": "alice", "data": [EXAMPLE_CIPHERTEXT]})
    partial: Partial = False


class RewrapRequest(EncryptRequest):
    model_config = examples({"userId": "alice", "data": [EXAMPLE_CIPHERTEXT]})
    partial: Partial = False


class RotateRequest(Strict):
    model_config = examples(
        {"userId": "alice", "data": [{"card": EXAMPLE_CIPHERTEXT}], "reason": "compliance"}
    )
    userId: UserId
    data: list[Any] = Field(description="Any JSON: every ciphertext string in it is rotated")
    reason: Literal["on-demand", "compliance", "compromise"] = "on-demand"
    context: Context = None


class PolicyRequest(Strict):
    model_config = examples({"minDecryptionVersion": 2, "rotationPeriodDays": 30})
    minDecryptionVersion: Version | None = None
    rotationPeriodDays: Days | None = None


class DeletionRequest(Strict):
    model_config = examples({"waitingPeriodDays": 7})
    waitingPeriodDays: Annotated[float | None, Field(ge=0, le=365)] = None


class EncryptResponse(BaseModel):
    model_config = examples({"encryptedData": [EXAMPLE_CIPHERTEXT]})
    encryptedData: list[str]


class DecryptResponse(BaseModel):
    model_config = examples({"decryptedData": ["hello"]})
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
    model_config = examples({"rotatedData": [{"card": EXAMPLE_CIPHERTEXT}], "version": 2})
    rotatedData: list[Any]
    version: int


class RewrapResponse(BaseModel):
    model_config = examples({"rewrappedData": [EXAMPLE_CIPHERTEXT], "version": 2})
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
    state: VersionState
    createdAt: datetime
    destroyedAt: datetime | None


_WHEN = "2026-01-01T00:00:00Z"


class KeyMetadata(BaseModel):
    model_config = examples(
        {
            "success": True,
            "userId": "alice",
            "keyType": KeyType.X25519_HPKE,
            "state": "enabled",
            "currentVersion": 1,
            "minDecryptionVersion": 1,
            "rotationPeriodDays": 90,
            "nextRotationAt": "2026-04-01T00:00:00Z",
            "deletionDate": None,
            "createdAt": _WHEN,
            "lastRotatedAt": _WHEN,
            "publicKey": "kX8nVq3yW1cX6b0yHn0rL6G3dQeVb6vP9b1Y4oZ2mXc",
            "versions": [
                {"version": 1, "state": "active", "createdAt": _WHEN, "destroyedAt": None}
            ],
        }
    )
    success: bool = True
    userId: str
    keyType: KeyType
    state: KeyState
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
            keyType=KeyType(info.key_type),
            state=info.state,
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
                    state=v.state,
                    createdAt=v.created_at,
                    destroyedAt=v.destroyed_at,
                )
                for v in info.versions
            ],
        )


class PublicKeyOut(BaseModel):
    model_config = examples(
        {
            "userId": "alice",
            "keyType": KeyType.X25519_HPKE,
            "version": 1,
            "publicKey": "kX8nVq3yW1cX6b0yHn0rL6G3dQeVb6vP9b1Y4oZ2mXc",
            "ciphertextPrefix": "sr",
        }
    )
    userId: str
    keyType: KeyType
    version: int
    publicKey: str = Field(description="base64url, no padding; layout in docs/ciphertext.md")
    ciphertextPrefix: str
    # Added by issue 20 (docs/key-statement.md): what an offline encryptor binds and
    # the service's signature over it.
    tenant: str | None = Field(default=None, description="The tenant bound into ciphertexts")
    suite: int | None = Field(
        default=None, description="The payload's suite id (docs/ciphertext.md)"
    )
    statement: str | None = Field(
        default=None, description="base64url of the signed key statement (docs/key-statement.md)"
    )
    signature: str | None = Field(default=None, description="base64url Ed25519 signature")
    serviceKeyId: str | None = Field(default=None, description="GET /api/v1/service-keys")
    notBefore: datetime | None = None
    notAfter: datetime | None = None


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
    model_config = examples(
        {
            "userId": "alice",
            "history": [
                {"version": 1, "event": "created", "reason": None, "actor": "key:abc", "at": _WHEN}
            ],
        }
    )
    userId: str
    history: list[HistoryItem]


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: dict[str, Any] | None = None


class ErrorOut(BaseModel):
    model_config = examples(
        {
            "success": False,
            "error": {
                "code": "ENC001",
                "message": "invalid input",
                "details": {"errors": [{"loc": ["body", "contxt"], "type": "extra_forbidden"}]},
            },
            "requestId": "4b0c9f2e8d7a4c1b9e3f5a6d7c8b9a0f",
        }
    )
    success: Literal[False] = False
    error: ErrorDetail
    requestId: str | None
