"""The credential broker: callers send requests through Strongroom, which injects a
stored key only toward the hosts the key is for (docs/broker.md).

One call: resolve the key (``TargetResolver``), check the method and host against the
key and the optional ``Narrowing`` (a proxy token's), resolve the host once and refuse
internal addresses (credentials/egress.py), inject the key, drop the caller's
credential headers, exchange with the pinned address (credentials/egress_http.py),
refuse a redirect to a host the key may not reach, scrub both slots' values from the
answer (credentials/scrub.py), then count the use (``UsageSink``), write one audit
record (host, method, path template, status, bytes, latency: never the key, a
header or a body) and the metrics. A refusal is counted as a ``DENIED`` use and
audited as denied before it is raised.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import urljoin

from strongroom.audit.actions import BrokerAction
from strongroom.audit.models import AuditEvent, Outcome
from strongroom.context import Actor
from strongroom.credentials import broker_metrics as metrics
from strongroom.credentials.broker_errors import (
    AddressRefused,
    BadOutbound,
    HostNotAllowed,
    MethodNotPermitted,
    RedirectRefused,
    RequestTooLarge,
)
from strongroom.credentials.contract import (
    Answer,
    BrokerTarget,
    InjectionKind,
    Narrowing,
    Outbound,
    TargetResolver,
    UsageSink,
    Use,
    UseKind,
)
from strongroom.credentials.egress import (
    Destination,
    Resolver,
    host_allowed,
    networks,
    parse_url,
    pin,
)
from strongroom.credentials.egress_http import PinnedClient, Upstream
from strongroom.credentials.outbound import (
    check_method,
    path_template,
    render,
    request_headers,
    response_headers,
    with_query,
)
from strongroom.credentials.scrub import Scrubber
from strongroom.errors import StrongroomError


class AuditSink(Protocol):
    def append_before_release(self, event: AuditEvent) -> Awaitable[None]: ...


@dataclass(frozen=True)
class BrokerLimits:
    max_request_bytes: int = 1024 * 1024


@dataclass
class _Call:
    """What one call learnt, for its use record, audit record and metrics."""

    t0: float
    method: str = "-"
    host: str | None = None
    template: str | None = None
    status: int | None = None
    bytes_out: int = 0
    bytes_in: int = 0
    upstream_s: float | None = None


class Broker:
    """Implements ``BrokerPort`` (credentials/contract.py)."""

    async def aclose(self) -> None:
        await self.client.aclose()

    def __init__(
        self,
        targets: TargetResolver,
        usage: UsageSink,
        audit: AuditSink,
        client: PinnedClient,
        resolver: Resolver,
        limits: BrokerLimits | None = None,
    ) -> None:
        # Public: services wires the stored-key side and analytics in; tests swap the
        # resolver (a stub DNS) and the client (a test CA).
        self.targets = targets
        self.usage = usage
        self.client = client
        self.resolver = resolver
        self._audit = audit
        self.limits = limits or BrokerLimits()

    async def send(
        self,
        actor: Actor,
        project: str,
        key: str,
        outbound: Outbound,
        narrowing: Narrowing | None = None,
    ) -> Answer:
        call = _Call(time.perf_counter())
        target = await self.targets.for_use(actor, project, key)
        try:
            answer = await self._send(call, target, outbound, narrowing)
        except StrongroomError as exc:
            denied = exc.status < 500 or isinstance(exc, RedirectRefused)
            await self._record(actor, target, call, narrowing, exc.code, denied)
            raise
        await self._record(actor, target, call, narrowing, None, False)
        return answer

    async def _send(
        self, call: _Call, target: BrokerTarget, out: Outbound, narrowing: Narrowing | None
    ) -> Answer:
        call.method = check_method(out.method)
        if len(out.body) > self.limits.max_request_bytes:
            raise RequestTooLarge(limit=self.limits.max_request_bytes)
        dest = parse_url(out.url)
        call.host, call.template = dest.host, path_template(dest)
        allowed_methods = None if narrowing is None else narrowing.methods
        if allowed_methods is not None and call.method not in {m.upper() for m in allowed_methods}:
            raise MethodNotPermitted()
        if not self._host_ok(dest.host, target, narrowing):
            raise HostNotAllowed()
        allowed = networks(target.allowed_networks)
        ip = await pin(self.resolver, dest, allowed)
        if dest.scheme == "http" and not any(ip.version == n.version and ip in n for n in allowed):
            # The key in clear text over the internet: only to a network the key names.
            raise AddressRefused(reason="plaintext")
        rendered = render(target)
        inj = target.injection
        if inj.kind is InjectionKind.QUERY:
            dest, header = with_query(dest, inj.name, rendered), None
        else:
            header = rendered
        headers = request_headers(call.method, out.headers, inj, out.body, header)
        call.bytes_out = len(out.body)
        started = time.perf_counter()
        try:
            up = await self.client.exchange(dest, ip, call.method, headers, out.body)
        finally:
            call.upstream_s = time.perf_counter() - started
        call.status, call.bytes_in = up.status, len(up.body)
        self._check_redirect(up, dest, target, narrowing)
        scrub = Scrubber(target.value, target.previous)
        return Answer(
            up.status,
            tuple((scrub.text(k), scrub.text(v)) for k, v in response_headers(up.headers)),
            scrub.clean(up.body),
        )

    @staticmethod
    def _host_ok(host: str, target: BrokerTarget, narrowing: Narrowing | None) -> bool:
        if not host_allowed(host, target.hosts):
            return False
        return narrowing is None or narrowing.hosts is None or host_allowed(host, narrowing.hosts)

    def _check_redirect(
        self, up: Upstream, dest: Destination, target: BrokerTarget, narrowing: Narrowing | None
    ) -> None:
        """Never followed. A redirect within the hosts the key (and session) may reach
        comes back as is (the caller may call again, checked again); one elsewhere is
        refused, BRK008, so no caller is pointed at a host the key must not serve."""
        if not 300 <= up.status < 400:
            return
        location = next((v for k, v in up.headers if k.lower() == "location"), None)
        if location is None:
            return
        base = f"{dest.scheme}://{dest.authority}{dest.target}"
        try:
            nxt = parse_url(urljoin(base, location.strip()))
        except BadOutbound:
            raise RedirectRefused(status=up.status) from None
        if not self._host_ok(nxt.host, target, narrowing):
            raise RedirectRefused(status=up.status)

    async def _record(
        self,
        actor: Actor,
        target: BrokerTarget,
        call: _Call,
        narrowing: Narrowing | None,
        code: str | None,
        denied: bool,
    ) -> None:
        elapsed = time.perf_counter() - call.t0
        kind = UseKind.DENIED if denied else UseKind.BROKER
        self.usage.record(
            Use(
                target.tenant,
                target.key_id,
                kind,
                actor.principal,
                actor.client_addr,
                call.host,
                call.status,
                datetime.now(UTC),
                round(elapsed * 1000, 3),
            )
        )
        metrics.observe(call.status, code, elapsed, call.upstream_s)
        detail: dict[str, Any] = {
            "project": target.project,
            "host": call.host,
            "method": call.method,
            "path": call.template,
            "status": call.status,
            "bytesOut": call.bytes_out,
            "bytesIn": call.bytes_in,
            "latencyMs": round(elapsed * 1000, 1),
        }
        if code is not None:
            detail["code"] = code
        if narrowing is not None and narrowing.session_id is not None:
            detail["session"] = narrowing.session_id
        outcome = Outcome.DENIED if denied else Outcome.FAILURE if code else Outcome.SUCCESS
        await self._audit.append_before_release(
            AuditEvent(
                actor,
                BrokerAction.REQUEST,
                outcome,
                f"{target.project}/{target.key_name}",
                detail=detail,
            )
        )
