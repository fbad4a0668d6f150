"""The domain types of stored API keys and the checks of what callers give: names,
host patterns, networks, injection, tags and values. Each check raises its own code
(credentials/errors.py) with a fixed message: nothing of the input is echoed."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from strongroom.credentials.contract import Injection, InjectionKind, KeyState, Sensitivity
from strongroom.credentials.errors import (
    InvalidHost,
    InvalidInjection,
    InvalidKeyValue,
    InvalidNetwork,
)
from strongroom.errors import InvalidInput

NAME_REGEX = r"^[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}$"
_NAME = re.compile(NAME_REGEX)
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$")  # RFC 9110 token
# Headers the broker itself decides; a key injected into them would break framing.
_RESERVED = {"host", "content-length", "transfer-encoding", "connection", "upgrade", "te"}
MAX_HOSTS = 32
MAX_NETWORKS = 32
MAX_TAGS = 32
MAX_OWNERS = 32
PLACEHOLDER = "{key}"


class Slot(StrEnum):
    CURRENT = "current"
    PREVIOUS = "previous"


def check_name(name: str) -> str:
    """A project's or key's name: one resource segment (access/resources.py)."""
    if not _NAME.match(name) or name in (".", ".."):
        raise InvalidInput("names are 1-64 of [A-Za-z0-9._-]")
    return name


def resource(project: str, key: str) -> str:
    """The name grants' resource patterns match (``billing/stripe``)."""
    return f"{project}/{key}"


def check_host(host: str) -> str:
    h = host.strip().lower().rstrip(".")
    if not h or len(h) > 253:
        raise InvalidHost()
    try:
        return str(ipaddress.ip_address(h.strip("[]")))
    except ValueError:
        pass
    labels = h.split(".")
    if labels[0] == "*":
        labels = labels[1:]
        if len(labels) < 2:  # "*.com" would reach a whole top-level domain
            raise InvalidHost()
    if len(labels) < 1 or not all(_LABEL.match(lab) for lab in labels):
        raise InvalidHost()
    if labels[-1].isdigit():  # a numeric TLD is an address, malformed
        raise InvalidHost()
    return h


def check_hosts(hosts: Sequence[str]) -> tuple[str, ...]:
    if len(hosts) > MAX_HOSTS:
        raise InvalidHost()
    return tuple(dict.fromkeys(check_host(h) for h in hosts))


def host_allowed(patterns: Sequence[str], host: str) -> bool:
    """Does ``host`` match one of ``patterns`` (``*.example.com``: one label or more)?"""
    h = host.lower().rstrip(".")
    for p in patterns:
        if p.startswith("*."):
            if h.endswith(p[1:]) and len(h) > len(p) - 1:
                return True
        elif h == p:
            return True
    return False


def check_networks(networks: Sequence[str]) -> tuple[str, ...]:
    if len(networks) > MAX_NETWORKS:
        raise InvalidNetwork()
    out = []
    for n in networks:
        try:
            out.append(str(ipaddress.ip_network(n.strip(), strict=True)))
        except ValueError:
            raise InvalidNetwork() from None
    return tuple(dict.fromkeys(out))


def check_injection(inj: Injection) -> Injection:
    if not _TOKEN.match(inj.name) or len(inj.template) > 256:
        raise InvalidInjection()
    if inj.kind is InjectionKind.HEADER and inj.name.lower() in _RESERVED:
        raise InvalidInjection()
    t = inj.template
    if t.count(PLACEHOLDER) != 1 or any(c in t.replace(PLACEHOLDER, "") for c in "{}"):
        raise InvalidInjection()
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in t):
        raise InvalidInjection()
    return inj


def check_value(value: str, limit: int) -> bytes:
    """The value as stored: UTF-8, printable (it is spliced into a header or a query)."""
    raw = value.encode()
    if not raw or len(raw) > limit or any(ord(c) < 0x21 or ord(c) == 0x7F for c in value):
        raise InvalidKeyValue()
    return raw


def check_tags(tags: Mapping[str, str]) -> dict[str, str]:
    if len(tags) > MAX_TAGS or any(not k or len(k) > 128 or len(v) > 256 for k, v in tags.items()):
        raise InvalidInput("at most 32 tags, keys 1-128 and values up to 256 characters")
    return dict(tags)


def check_owners(owners: Sequence[str]) -> list[str]:
    if len(owners) > MAX_OWNERS or any(not o or len(o) > 200 for o in owners):
        raise InvalidInput("at most 32 owners of 1-200 characters")
    return list(dict.fromkeys(owners))


@dataclass(frozen=True)
class ProjectInfo:
    name: str
    description: str
    created_at: datetime
    created_by: str
    keys: int = 0


@dataclass(frozen=True)
class KeyInfo:
    """A stored key as its readers see it: never the value."""

    project: str
    name: str
    key_id: int
    provider: str
    hosts: tuple[str, ...]
    allowed_networks: tuple[str, ...]
    injection: Injection
    expires_at: datetime | None
    rotate_after_days: int | None
    rotated_at: datetime
    previous_until: datetime | None
    rotation_hook: str | None
    owners: tuple[str, ...]
    tags: dict[str, str]
    sensitivity: Sensitivity
    state: KeyState
    state_reason: str | None
    version: int
    created_at: datetime
    created_by: str
    updated_at: datetime
    replayed: bool = False


DEFAULT_INJECTION = Injection(InjectionKind.HEADER, "Authorization", "Bearer {key}")


@dataclass(frozen=True)
class NewKey:
    name: str
    value: str = field(repr=False)
    provider: str = ""
    hosts: Sequence[str] = ()
    allowed_networks: Sequence[str] = ()
    injection: Injection = DEFAULT_INJECTION
    expires_at: datetime | None = None
    rotate_after_days: int | None = None
    rotation_hook: str | None = None
    owners: Sequence[str] = ()
    tags: Mapping[str, str] = field(default_factory=dict)
    sensitivity: Sensitivity = Sensitivity.MEDIUM


@dataclass(frozen=True)
class KeyChange:
    """A PATCH: None leaves a field as it is; ``version`` (compare-and-set) refuses the
    change unless it is the key's current version. ``clear_expiry`` removes it."""

    version: int | None = None
    provider: str | None = None
    hosts: Sequence[str] | None = None
    allowed_networks: Sequence[str] | None = None
    injection: Injection | None = None
    expires_at: datetime | None = None
    clear_expiry: bool = False
    rotate_after_days: int | None = None
    rotation_hook: str | None = None
    owners: Sequence[str] | None = None
    tags: Mapping[str, str] | None = None
    sensitivity: Sensitivity | None = None


@dataclass(frozen=True)
class Page:
    items: tuple[KeyInfo, ...]
    cursor: str | None
