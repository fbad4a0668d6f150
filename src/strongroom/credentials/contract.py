"""What the parts of the credentials domain hand each other: the stored-key side
(projects and keys) resolves a key for use into a ``BrokerTarget``; the broker calls
upstream with it and reports each use to a ``UsageSink`` (analytics, anomaly rules).

A ``BrokerTarget`` carries the key's value: it lives for one call, in process memory
only, and its ``repr`` never shows the value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from strongroom.context import Actor


class InjectionKind(StrEnum):
    HEADER = "header"
    QUERY = "query"


@dataclass(frozen=True)
class Injection:
    """Where the value goes: header ``name: template`` or query parameter ``name=template``,
    ``template`` holding ``{key}`` exactly once (``"Bearer {key}"``, ``"{key}"``)."""

    kind: InjectionKind
    name: str
    template: str = "{key}"


@dataclass(frozen=True)
class BrokerTarget:
    tenant: str
    project: str
    key_name: str
    key_id: int
    hosts: tuple[str, ...]
    """Allowed upstream hosts: exact names or ``*.example.com`` (one label or more)."""
    allowed_networks: tuple[str, ...]
    """CIDRs the key explicitly allows although they are private / loopback / link-local /
    CGNAT (a test upstream on 127.0.0.1, an internal API); empty: public addresses only."""
    injection: Injection
    value: bytes = field(repr=False)
    """The current value."""
    previous: bytes | None = field(default=None, repr=False)
    """The previous slot's value while a rotation overlaps (scrubbed from responses too)."""


class UseKind(StrEnum):
    BROKER = "broker"
    REVEAL = "reveal"
    DENIED = "denied"  # a broker request refused before it left (host not allowed, ...)


@dataclass(frozen=True)
class Use:
    """One use of a stored key, as analytics and anomaly rules see it (no value)."""

    tenant: str
    key_id: int
    kind: UseKind
    caller: str  # the principal id
    source: str | None  # the caller's address
    host: str | None  # upstream host (broker)
    status: int | None  # upstream status (broker), None when no answer
    at: datetime
    latency_ms: float | None = None


class TargetResolver(Protocol):
    async def for_use(self, actor: Actor, project: str, key: str) -> BrokerTarget:
        """The key ready to inject: refused when missing, revoked, blocked or expired.
        The caller (an edge, via the guard) has checked ``api-keys:use`` on it."""
        ...


class UsageSink(Protocol):
    def record(self, use: Use) -> None:
        """Count one use; never blocks and never writes per call (buffered)."""
        ...


# --- What the stored-key side offers the rest of the system (approvals, MCP, usage) ---


class KeyState(StrEnum):
    ACTIVE = "active"
    BLOCKED = "blocked"
    REVOKED = "revoked"
    EXPIRED = "expired"


class Sensitivity(StrEnum):
    """Admin-set on a stored key; an input to the MCP access-request risk score."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


@dataclass(frozen=True)
class KeySummary:
    """A stored key as agents and approvers may see it: never its value."""

    tenant: str
    project: str
    name: str
    key_id: int
    provider: str
    hosts: tuple[str, ...]
    tags: dict[str, str]
    state: KeyState
    sensitivity: Sensitivity
    expires_at: datetime | None


class KeyDirectory(Protocol):
    async def usable(self, actor: Actor) -> list[KeySummary]:
        """The keys ``actor`` holds ``api-keys:use`` on (any state but revoked)."""
        ...

    async def describe(self, actor: Actor, project: str, key: str) -> KeySummary:
        """One key by name in the actor's tenant; refused (not found) when missing."""
        ...

    async def block(self, tenant: str, key_id: int, reason: str) -> None:
        """Block a key on behalf of the system (an anomaly rule); audited; every
        replica refuses it within 1 s."""
        ...


# --- What the broker offers the MCP edge ---


@dataclass(frozen=True)
class Outbound:
    """A request to send upstream, as the caller gave it (no key in it)."""

    method: str
    url: str
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""


@dataclass(frozen=True)
class Narrowing:
    """Limits tighter than the key's own (a proxy token's hosts and methods)."""

    hosts: tuple[str, ...] | None = None
    methods: tuple[str, ...] | None = None
    session_id: str | None = None  # recorded with the use and its audit record


@dataclass(frozen=True)
class Answer:
    """The upstream's answer, with the key's values scrubbed."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


class BrokerPort(Protocol):
    async def send(
        self,
        actor: Actor,
        project: str,
        key: str,
        outbound: Outbound,
        narrowing: Narrowing | None = None,
    ) -> Answer:
        """Send ``outbound`` with the key injected. The edge has already authorized
        the use (``api-keys:use``, or an MCP session's proxy token)."""
        ...


# --- What usage analytics offer the approvals risk score ---


class UsageFacts(Protocol):
    async def anomalies_since(self, tenant: str, key_id: int, since: datetime) -> int:
        """Anomaly episodes raised on the key since ``since``."""
        ...

    async def has_used(self, tenant: str, key_id: int, caller: str) -> bool:
        """Whether ``caller`` has used the key before (first use raises risk)."""
        ...
