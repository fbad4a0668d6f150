"""Request and response shapes of projects and stored API keys (api/routers/
api_keys.py, docs/credentials.md). A key's value is write-only: only ``RevealOut``
carries one, and only the reveal route returns it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, Field

from strongroom.api.schemas import Strict, Timestamp, _integral, examples
from strongroom.credentials.contract import Injection, InjectionKind, Sensitivity
from strongroom.credentials.models import NAME_REGEX, KeyInfo, ProjectInfo

_WHEN = "2027-06-01T00:00:00Z"
Name = Annotated[str, Field(min_length=1, max_length=64, pattern=NAME_REGEX)]
Host = Annotated[str, Field(min_length=1, max_length=253)]
Network = Annotated[str, Field(min_length=1, max_length=64)]
Owner = Annotated[str, Field(min_length=1, max_length=200)]
Days = Annotated[int, Field(ge=0, le=3650), BeforeValidator(_integral)]
SensitivityName = Literal["low", "medium", "high"]
Reason = Annotated[str, Field(max_length=200)]
Token = Annotated[str, Field(min_length=8, max_length=200)]
# A stored value: printable, at most API_KEYS_MAX_VALUE_BYTES (checked by the service).
Value = Annotated[str, Field(min_length=1, max_length=65536)]
TagKey = Annotated[str, Field(min_length=1, max_length=128)]
Tags = Annotated[dict[TagKey, Annotated[str, Field(max_length=256)]], Field(max_length=32)]
HEADER_NAME = r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$"


class ProjectCreate(Strict):
    model_config = examples({"name": "billing", "description": "Payment providers"})
    name: Name
    description: Annotated[str, Field(max_length=512)] = ""


_PROJECT = {
    "name": "billing",
    "description": "Payment providers",
    "createdAt": "2026-12-03T06:00:00Z",
    "createdBy": "ak_admin",
    "keys": 2,
}
_KEY = {
    "project": "billing",
    "name": "stripe",
    "id": 7,
    "provider": "stripe",
    "hosts": ["api.stripe.com"],
    "allowedNetworks": [],
    "injection": {"kind": "header", "name": "Authorization", "template": "Bearer {key}"},
    "expiresAt": _WHEN,
    "rotateAfterDays": 90,
    "rotatedAt": "2026-12-03T06:00:00Z",
    "previousUntil": None,
    "rotationHook": None,
    "owners": ["alice@example.com"],
    "tags": {"env": "prod"},
    "sensitivity": "high",
    "state": "active",
    "stateReason": None,
    "version": 1,
    "createdAt": "2026-12-03T06:00:00Z",
    "createdBy": "ak_admin",
    "updatedAt": "2026-12-03T06:00:00Z",
    "replayed": False,
}


class ProjectOut(BaseModel):
    model_config = examples(_PROJECT)
    name: str
    description: str
    createdAt: datetime
    createdBy: str
    keys: int = Field(description="How many stored keys it holds")

    @classmethod
    def of(cls, p: ProjectInfo) -> ProjectOut:
        return cls(
            name=p.name,
            description=p.description,
            createdAt=p.created_at,
            createdBy=p.created_by,
            keys=p.keys,
        )


class ProjectListOut(BaseModel):
    model_config = examples({"projects": [_PROJECT], "cursor": None})
    projects: list[ProjectOut]
    cursor: str | None = None


class InjectionIn(Strict):
    kind: Literal["header", "query"] = "header"
    name: Annotated[str, Field(min_length=1, max_length=128, pattern=HEADER_NAME)] = "Authorization"
    template: Annotated[str, Field(min_length=1, max_length=256)] = Field(
        default="Bearer {key}", description="Holds {key} exactly once"
    )

    def to_domain(self) -> Injection:
        return Injection(InjectionKind(self.kind), self.name, self.template)


class InjectionOut(BaseModel):
    model_config = examples({"kind": "header", "name": "Authorization", "template": "Bearer {key}"})
    kind: str
    name: str
    template: str


class ApiKeyCreate(Strict):
    model_config = examples(
        {
            "name": "stripe",
            "value": "sk_live_…",
            "provider": "stripe",
            "hosts": ["api.stripe.com"],
            "injection": {"kind": "header", "name": "Authorization", "template": "Bearer {key}"},
            "expiresAt": _WHEN,
            "rotateAfterDays": 90,
            "owners": ["alice@example.com"],
            "tags": {"env": "prod"},
            "sensitivity": "high",
        }
    )
    name: Name
    value: Value = Field(description="The key itself: sealed at rest, never returned")
    provider: Annotated[str, Field(max_length=64)] = ""
    hosts: Annotated[list[Host], Field(max_length=32)] = Field(
        default_factory=list, description="Upstream hosts: exact names, IPs or *.example.com"
    )
    allowedNetworks: Annotated[list[Network], Field(max_length=32)] = Field(
        default_factory=list,
        description="CIDRs the broker may reach although private or loopback (internal APIs)",
    )
    injection: InjectionIn = Field(default_factory=InjectionIn)
    expiresAt: Timestamp | None = None
    rotateAfterDays: Days | None = Field(default=None, description="Rotation period (reminders)")
    rotationHook: Name | None = Field(
        default=None, description="A hook configured in API_KEYS_ROTATION_HOOKS"
    )
    owners: Annotated[list[Owner], Field(max_length=32)] = Field(default_factory=list)
    tags: Tags = Field(default_factory=dict)
    sensitivity: SensitivityName = "medium"


class ApiKeyPatch(Strict):
    model_config = examples({"version": 3, "hosts": ["api.stripe.com"], "tags": {"env": "prod"}})
    version: Annotated[int, Field(ge=1, le=2**31 - 1), BeforeValidator(_integral)] | None = Field(
        default=None, description="Compare-and-set: refused (409 APK003) unless current"
    )
    provider: Annotated[str, Field(max_length=64)] | None = None
    hosts: Annotated[list[Host], Field(max_length=32)] | None = None
    allowedNetworks: Annotated[list[Network], Field(max_length=32)] | None = None
    injection: InjectionIn | None = None
    expiresAt: Timestamp | None = None
    clearExpiry: bool = False
    rotateAfterDays: Days | None = Field(default=None, description="0 removes the period")
    rotationHook: Annotated[str, Field(max_length=64)] | None = Field(
        default=None, description='"" removes the hook'
    )
    owners: Annotated[list[Owner], Field(max_length=32)] | None = None
    tags: Tags | None = None
    sensitivity: SensitivityName | None = None


class RotateBody(Strict):
    model_config = examples({"value": "sk_live_new…", "requestToken": "rotate-2026-12-03"})
    value: Value | None = Field(default=None, description="The new value; or hook: true")
    hook: bool = Field(default=False, description="Mint the new value with the key's hook")
    requestToken: Token | None = Field(
        default=None, description="Idempotency: a retry with the same token rotates once"
    )


class ReasonBody(Strict):
    model_config = examples({"reason": "leaked in a ticket"})
    reason: Reason | None = None


class ApiKeyOut(BaseModel):
    model_config = examples(_KEY)
    project: str
    name: str
    id: int
    provider: str
    hosts: list[str]
    allowedNetworks: list[str]
    injection: InjectionOut
    expiresAt: datetime | None
    rotateAfterDays: int | None
    rotatedAt: datetime
    previousUntil: datetime | None = Field(
        description="Until then the previous value is still known (rotation overlap)"
    )
    rotationHook: str | None
    owners: list[str]
    tags: dict[str, str]
    sensitivity: str
    state: str = Field(description="active, blocked, revoked or expired")
    stateReason: str | None
    version: int
    createdAt: datetime
    createdBy: str
    updatedAt: datetime
    replayed: bool = False

    @classmethod
    def of(cls, k: KeyInfo) -> ApiKeyOut:
        inj = k.injection
        return cls(
            project=k.project,
            name=k.name,
            id=k.key_id,
            provider=k.provider,
            hosts=list(k.hosts),
            allowedNetworks=list(k.allowed_networks),
            injection=InjectionOut(kind=inj.kind.value, name=inj.name, template=inj.template),
            expiresAt=k.expires_at,
            rotateAfterDays=k.rotate_after_days,
            rotatedAt=k.rotated_at,
            previousUntil=k.previous_until,
            rotationHook=k.rotation_hook,
            owners=list(k.owners),
            tags=dict(k.tags),
            sensitivity=k.sensitivity.value,
            state=k.state.value,
            stateReason=k.state_reason,
            version=k.version,
            createdAt=k.created_at,
            createdBy=k.created_by,
            updatedAt=k.updated_at,
            replayed=k.replayed,
        )


class ApiKeyListOut(BaseModel):
    model_config = examples({"keys": [_KEY], "cursor": None})
    keys: list[ApiKeyOut]
    cursor: str | None = None


class UsableOut(BaseModel):
    model_config = examples(
        {"project": "billing", "name": "stripe", "hosts": ["api.stripe.com"], "overlap": False}
    )
    project: str
    name: str
    hosts: list[str]
    overlap: bool = Field(description="A rotation's previous value is still known")


class RevealOut(BaseModel):
    model_config = examples(
        {"project": "billing", "name": "stripe", "version": 4, "value": "sk_live_…"}
    )
    project: str
    name: str
    version: int
    value: str = Field(description="The current value (audited)")


def sensitivity(name: str | None) -> Sensitivity | None:
    return Sensitivity(name) if name is not None else None
