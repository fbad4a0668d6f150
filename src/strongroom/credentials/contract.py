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
