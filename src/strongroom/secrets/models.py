"""The vault's vocabulary: paths, values, merge patches and what callers see."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from strongroom.errors import InvalidInput
from strongroom.store.models.secrets import MAX_PATH_LENGTH

MAX_META_PAIRS = 64  # customMetadata entries per secret
MAX_META_KEY, MAX_META_VALUE = 128, 512
MAX_FILTER_PAIRS = 10  # meta.k=v pairs in one listing
MAX_SEGMENTS = 32
# The characters of a path segment, as access/resources.py reads grant patterns:
# ``+`` and ``*`` are never part of a real path, so a pattern never mistakes one.
_SEGMENT = re.compile(r"[A-Za-z0-9._-]{1,128}")
# check_path's rules as a regex without look-around, for the API's documents: 1 to 32
# segments of the alphabet that are not "." or "..".
_SEG = (
    r"(?:[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}|\.[A-Za-z0-9_-][A-Za-z0-9._-]{0,126}"
    r"|\.\.[A-Za-z0-9._-]{1,126})"
)
PATH_REGEX = rf"^{_SEG}(?:/{_SEG}){{0,31}}$"
FIELD = "data"  # the bound field of a version's sealed value (one per version today)


class Label(StrEnum):
    """Staging labels for rotation: reads without a version serve ``current``."""

    CURRENT = "current"
    PENDING = "pending"
    PREVIOUS = "previous"


class VersionState(StrEnum):
    LIVE = "live"
    DELETED = "deleted"  # soft: undelete restores it
    DESTROYED = "destroyed"  # the sealed value is gone from the database
    EXPIRED = "expired"  # past its expiresAt: reads answer 410


def check_path(path: str) -> str:
    """A secret's path: ``/``-separated segments of ``[A-Za-z0-9._-]`` (not ``.`` or
    ``..``), at most 32 of them and 512 characters. Grants' ``+`` and ``*`` can never
    be part of a real path, so a pattern never mistakes one for a literal."""
    segs = path.split("/")
    if not path or len(path) > MAX_PATH_LENGTH or len(segs) > MAX_SEGMENTS:
        raise InvalidInput("bad secret path")
    if not all(_SEGMENT.fullmatch(s) and s not in (".", "..") for s in segs):
        raise InvalidInput("bad secret path")
    return path


def check_meta(meta: dict[str, str]) -> dict[str, str]:
    if len(meta) > MAX_META_PAIRS:
        raise InvalidInput("too many customMetadata entries", limit=MAX_META_PAIRS)
    for k, v in meta.items():
        if not k or len(k) > MAX_META_KEY or len(v) > MAX_META_VALUE:
            raise InvalidInput("customMetadata key or value too long")
    return dict(sorted(meta.items()))


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396 JSON Merge Patch: objects merge recursively, ``null`` removes a member,
    anything else replaces."""
    if not isinstance(patch, dict):
        return patch
    out = dict(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v)
    return out


def encode(data: dict[str, Any]) -> bytes:
    """Compact, key-sorted JSON: what is sealed and what the size limit counts."""
    return json.dumps(data, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()


@dataclass(frozen=True)
class VersionInfo:
    version: int
    created_at: datetime
    created_by: str
    state: VersionState
    deleted_at: datetime | None
    destroyed_at: datetime | None
    expires_at: datetime | None
    labels: tuple[Label, ...] = ()


@dataclass(frozen=True)
class SecretData:
    path: str
    data: dict[str, Any]
    info: VersionInfo
    custom_metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SecretMetadata:
    path: str
    latest_version: int
    current_version: int
    pending_version: int
    previous_version: int
    oldest_version: int
    max_versions: int
    delete_version_after: int
    custom_metadata: dict[str, str]
    created_at: datetime
    updated_at: datetime
    versions: tuple[VersionInfo, ...]


@dataclass(frozen=True)
class WriteResult:
    path: str
    info: VersionInfo
    replayed: bool = False  # a retried request token found its earlier version


@dataclass(frozen=True)
class ListPage:
    paths: tuple[str, ...]
    cursor: str | None  # pass back for the next page; None: the last page
