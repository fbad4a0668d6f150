"""Request and response shapes of the share routes (api/routers/shares.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from strongroom.api.schemas import Strict, _integral, examples
from strongroom.secrets.models import PATH_REGEX
from strongroom.secrets.shares import MAX_TTL_SECONDS, MAX_VIEWS
from strongroom.secrets.shares_models import AccessView, ShareState, ShareView

SHARE_ID = r"^[a-z2-7]{16}$"
PrincipalId = Annotated[str, StringConstraints(min_length=1, max_length=200)]
# The vault's own path rule and a version that fits its integer column (a larger one
# would reach the database and fail there).
SecretPath = Annotated[str, StringConstraints(max_length=512, pattern=PATH_REGEX)]
SourceVersion = Annotated[int, Field(ge=1, le=2**31 - 1), BeforeValidator(_integral)]
Token = Annotated[str, StringConstraints(min_length=1, max_length=100)]
Passphrase = Annotated[str, StringConstraints(min_length=1, max_length=1024)]
# JSON Schema counts 3600.0 as an integer, so clients may send it (api/schemas.py).
Integral = BeforeValidator(_integral)
_TOKEN_EXAMPLE = "srs_" + "a" * 52 + "_bcdefgh"


class SourceIn(Strict):
    path: SecretPath
    version: SourceVersion


class CreateShareRequest(Strict):
    model_config = ConfigDict(
        strict=True,
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"value": "the wifi password", "expiresInSeconds": 3600, "views": 1},
                {
                    "source": {"path": "apps/billing/stripe", "version": 3},
                    "expiresInSeconds": 86400,
                },
            ],
            # Exactly one of them (checked below as well).
            "oneOf": [
                {"required": ["value"], "properties": {"value": {"type": "string"}}},
                {"required": ["source"], "properties": {"source": {"type": "object"}}},
            ],
        },
    )
    expiresInSeconds: Annotated[int, Field(ge=60, le=MAX_TTL_SECONDS), Integral] = Field(
        description="Required; at most the configured maximum"
    )
    views: Annotated[int, Field(ge=1, le=MAX_VIEWS), Integral] = Field(
        default=1,
        description="How many reveals before the share ends (at most the configured maximum)",
    )
    value: str | None = Field(default=None, description="The value to share (ad hoc)")
    encoding: Literal["utf-8", "base64"] = Field(
        default="utf-8", description="How `value` is written: text, or base64 of bytes"
    )
    source: SourceIn | None = Field(default=None, description="A vault secret's version")
    passphrase: Passphrase | None = Field(
        default=None, description="Wanted on redeem (Argon2id; PBKDF2-SHA256 in FIPS mode)"
    )
    clientEncrypted: bool = Field(
        default=False,
        description="`value` is ciphertext whose key only the link's fragment carries",
    )
    tenantOnly: bool = Field(default=False, description="Only principals of this tenant")
    principals: Annotated[list[PrincipalId], Field(max_length=20)] = Field(
        default_factory=list, description="Only these principals (implies tenantOnly)"
    )

    @model_validator(mode="after")
    def _one_of(self) -> CreateShareRequest:
        if (self.value is None) == (self.source is None):
            raise ValueError("give either value or source")
        return self


class SourceOut(BaseModel):
    path: str
    version: int


_SHARE_EXAMPLE = {
    "id": "abcdefghijk23456",
    "tenant": "default",
    "state": "active",
    "createdBy": "key:aaaaaaaaaaaaaaaa",
    "createdAt": "2026-12-02T16:00:00Z",
    "expiresAt": "2026-12-02T17:00:00Z",
    "maxViews": 1,
    "viewsLeft": 1,
    "failedAttempts": 0,
    "passphrase": False,
    "clientEncrypted": False,
    "source": None,
    "tenantOnly": False,
    "principals": [],
    "endedAt": None,
    "lastAccessAt": None,
}


class ShareOut(BaseModel):
    model_config = examples(_SHARE_EXAMPLE)
    id: str
    tenant: str
    state: Literal[
        ShareState.ACTIVE,
        ShareState.USED,
        ShareState.REVOKED,
        ShareState.EXPIRED,
        ShareState.LOCKED,
    ]
    createdBy: str
    createdAt: datetime
    expiresAt: datetime
    maxViews: int
    viewsLeft: int
    failedAttempts: int
    passphrase: bool
    clientEncrypted: bool
    source: SourceOut | None
    tenantOnly: bool
    principals: list[str]
    endedAt: datetime | None
    lastAccessAt: datetime | None

    @classmethod
    def of(cls, v: ShareView) -> ShareOut:
        source = None
        if v.source_path is not None and v.source_version is not None:
            source = SourceOut(path=v.source_path, version=v.source_version)
        return cls(
            id=v.id,
            tenant=v.tenant,
            state=v.state,
            createdBy=v.created_by,
            createdAt=v.created_at,
            expiresAt=v.expires_at,
            maxViews=v.max_views,
            viewsLeft=v.views_left,
            failedAttempts=v.failed_attempts,
            passphrase=v.passphrase,
            clientEncrypted=v.client_encrypted,
            source=source,
            tenantOnly=v.tenant_only,
            principals=list(v.principals),
            endedAt=v.ended_at,
            lastAccessAt=v.last_access_at,
        )


class CreatedShareOut(BaseModel):
    model_config = examples({"share": _SHARE_EXAMPLE, "token": _TOKEN_EXAMPLE})
    share: ShareOut
    token: str = Field(description="The holder's token. Shown only in this response.")


class SharePage(BaseModel):
    model_config = examples({"shares": [_SHARE_EXAMPLE], "nextCursor": None})
    shares: list[ShareOut]
    nextCursor: str | None = Field(description="Pass as `cursor` for the next page")


class AccessOut(BaseModel):
    model_config = examples(
        {
            "at": "2026-12-02T16:05:00Z",
            "outcome": "revealed",
            "actor": "anonymous",
            "requestId": "r1",
        }
    )
    at: datetime
    outcome: str = Field(description="revealed, passphrase, unauthenticated, denied or gone")
    actor: str
    requestId: str = Field(description="Its audit record's request id (client address there)")

    @classmethod
    def of(cls, v: AccessView) -> AccessOut:
        return cls(at=v.at, outcome=v.outcome, actor=v.actor, requestId=v.request_id)


class AccessPage(BaseModel):
    model_config = examples({"accesses": [], "nextCursor": None})
    accesses: list[AccessOut]
    nextCursor: int | None


class RedeemRequest(Strict):
    model_config = examples({"token": _TOKEN_EXAMPLE}, {"token": _TOKEN_EXAMPLE, "passphrase": "x"})
    token: Token
    passphrase: Passphrase | None = None


class RevealedOut(BaseModel):
    model_config = examples(
        {
            "value": "the wifi password",
            "encoding": "utf-8",
            "clientEncrypted": False,
            "viewsLeft": 0,
            "expiresAt": "2026-12-02T17:00:00Z",
        }
    )
    value: str
    encoding: Literal["utf-8", "base64"]
    clientEncrypted: bool
    viewsLeft: int
    expiresAt: datetime


class ListQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    limit: Annotated[int, Field(ge=1, le=500)] = 100
    cursor: Annotated[str | None, Field(pattern=SHARE_ID)] = None
    mine: bool = Field(default=False, description="Only the shares the caller created")


class AccessQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    limit: Annotated[int, Field(ge=1, le=500)] = 100
    cursor: Annotated[int | None, Field(ge=0)] = None
