"""Build the broker from its settings section. Its key resolver and usage sink are
the stored-key side's and usage analytics' (``services`` wires them); until they are,
``NoKeys`` refuses every key and ``DroppedUses`` counts nothing."""

from __future__ import annotations

import ssl

from strongroom.config import BrokerSettings
from strongroom.context import Actor
from strongroom.credentials.broker import AuditSink, Broker, BrokerLimits
from strongroom.credentials.contract import BrokerTarget, TargetResolver, UsageSink, Use
from strongroom.credentials.egress import Resolver, SystemResolver
from strongroom.credentials.egress_http import EgressLimits, PinnedClient
from strongroom.errors import NotFound


class NoKeys:
    async def for_use(self, actor: Actor, project: str, key: str) -> BrokerTarget:
        raise NotFound()


class DroppedUses:
    def record(self, use: Use) -> None:
        return None


def ssl_context(settings: BrokerSettings) -> ssl.SSLContext:
    cafile = str(settings.ca_file) if settings.ca_file is not None else None
    ctx = ssl.create_default_context(cafile=cafile)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx


def build_broker(
    settings: BrokerSettings,
    audit: AuditSink,
    targets: TargetResolver | None = None,
    usage: UsageSink | None = None,
    resolver: Resolver | None = None,
    context: ssl.SSLContext | None = None,
) -> Broker:
    limits = EgressLimits(
        max_response_bytes=settings.max_response_bytes,
        total_seconds=settings.timeout_seconds,
        connect_seconds=settings.connect_timeout_seconds,
        max_connections=settings.max_connections_per_upstream,
    )
    return Broker(
        targets or NoKeys(),
        usage or DroppedUses(),
        audit,
        PinnedClient(limits, context or ssl_context(settings)),
        resolver or SystemResolver(),
        BrokerLimits(settings.max_request_bytes),
    )
