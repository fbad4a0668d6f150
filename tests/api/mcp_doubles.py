"""Stand-ins for the approvals domain (access requests, sessions), the stored-key
directory and the broker, implementing their contracts (approvals/contract.py,
credentials/contract.py) closely enough for the MCP edge's tests; plus a real echo
upstream on 127.0.0.1 whose capture shows what left the broker.

The broker double injects a canary key value and scrubs it from the answer, as the
contract says the real one does; the echo upstream reflects every header it got, so
an unscrubbed answer would carry the canary."""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

from strongroom.approvals.contract import (
    AccessAsk,
    Factor,
    Grant,
    OpenedSession,
    RequestStatus,
    RequestView,
)
from strongroom.approvals.errors import RequestNotFound, TokenRefused
from strongroom.context import Actor
from strongroom.credentials.contract import (
    Answer,
    KeyState,
    KeySummary,
    Narrowing,
    Outbound,
    Sensitivity,
)
from strongroom.errors import Forbidden
from strongroom.mcp.ports import McpPorts

CANARY = "sk-canary-" + "7f3a9c2e5b1d4f60"  # a stored key's value: must never come back
APPROVALS = "http://127.0.0.1:8000/approvals"


def summary(tenant: str, project: str, name: str, host: str) -> KeySummary:
    return KeySummary(
        tenant,
        project,
        name,
        1,
        "openai",
        (host,),
        {"team": "search"},
        KeyState.ACTIVE,
        Sensitivity.LOW,
        None,
    )


@dataclass
class Directory:
    keys: list[KeySummary]

    async def usable(
        self, actor: Actor, reach: Callable[[str], bool] | None = None
    ) -> list[KeySummary]:
        return [
            k
            for k in self.keys
            if k.tenant == actor.tenant and (reach is None or reach(f"{k.project}/{k.name}"))
        ]

    async def describe(self, actor: Actor, project: str, key: str) -> KeySummary:
        for k in await self.usable(actor):
            if (k.project, k.name) == (project, key):
                return k
        raise RequestNotFound()

    async def block(self, tenant: str, key_id: int, reason: str) -> None:
        raise NotImplementedError


@dataclass
class Requests:
    """Low risk (GET only, at most 15 minutes) is approved at once; the rest waits."""

    views: dict[str, RequestView] = field(default_factory=dict)

    async def create(self, actor: Actor, ask: AccessAsk) -> RequestView:
        write = any(m != "GET" for m in ask.methods)
        long = ask.duration_seconds > 900
        factors = (
            Factor("write methods", 40 if write else 0, "asks for writes"),
            Factor("duration", 20 if long else 0, "longer than the cap"),
        )
        score = sum(f.points for f in factors)
        status = RequestStatus.PENDING if write or long else RequestStatus.APPROVED
        rid = f"req_{uuid.uuid4().hex[:12]}"
        now = datetime.now(UTC)
        view = RequestView(
            rid,
            status,
            score,
            factors,
            1,
            ask,
            actor.principal,
            now,
            now + timedelta(hours=24),
            f"{APPROVALS}/{rid}" if status is RequestStatus.PENDING else None,
        )
        self.views[rid] = view
        return view

    async def get(self, actor: Actor, request_id: str) -> RequestView:
        view = self.views.get(request_id)
        if view is None:
            raise RequestNotFound()
        return view

    def approve(self, request_id: str) -> None:
        self.views[request_id] = replace(
            self.views[request_id], status=RequestStatus.APPROVED, approval_url=None
        )


@dataclass
class _Session:
    session_id: str
    request: RequestView
    tenant: str
    token_hash: str
    expires_at: datetime
    revoked: bool = False


@dataclass
class Sessions:
    requests: Requests
    sessions: dict[str, _Session] = field(default_factory=dict)

    async def open(self, actor: Actor, request_id: str) -> OpenedSession:
        view = await self.requests.get(actor, request_id)
        if view.requester != actor.principal or view.status is not RequestStatus.APPROVED:
            raise Forbidden()
        if view.session_id is not None:
            raise Forbidden("already opened")
        token = "srp_" + secrets.token_urlsafe(32)
        sid = f"ses_{uuid.uuid4().hex[:12]}"
        expires = datetime.now(UTC) + timedelta(seconds=view.ask.duration_seconds)
        self.sessions[sid] = _Session(sid, view, actor.tenant, _hash(token), expires)
        self.requests.views[request_id] = replace(view, session_id=sid)
        return OpenedSession(sid, token, expires)

    async def verify(self, actor: Actor, token: str, *, host: str, method: str) -> Grant:
        found = [s for s in self.sessions.values() if s.token_hash == _hash(token)]
        # Another principal's token is refused like an unknown one.
        if not found or found[0].request.requester != actor.principal or found[0].revoked:
            raise TokenRefused()
        s = found[0]
        if host not in s.request.ask.hosts or method not in s.request.ask.methods:
            raise TokenRefused()
        ask = s.request.ask
        return Grant(
            s.session_id,
            s.request.request_id,
            s.tenant,
            actor.principal,
            ask.project,
            ask.key,
            ask.hosts,
            ask.methods,
            s.expires_at,
        )

    async def revoke(self, actor: Actor, session_id: str, *, own_only: bool) -> None:
        s = self.sessions.get(session_id)
        if s is None or (own_only and s.request.requester != actor.principal):
            raise RequestNotFound()
        s.revoked = True


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass
class Broker:
    """Injects the canary as ``Authorization: Bearer …`` and scrubs it from answers."""

    sent: list[Outbound] = field(default_factory=list)

    async def send(
        self,
        actor: Actor,
        project: str,
        key: str,
        outbound: Outbound,
        narrowing: Narrowing | None = None,
    ) -> Answer:
        self.sent.append(outbound)
        headers = [*outbound.headers, ("Authorization", f"Bearer {CANARY}")]
        async with httpx.AsyncClient(trust_env=False) as client:
            r = await client.request(
                outbound.method, outbound.url, headers=headers, content=outbound.body
            )
        scrub = CANARY.encode()
        body = r.content.replace(scrub, b"[redacted]")
        hs = tuple((k, v.replace(CANARY, "[redacted]")) for k, v in r.headers.items())
        return Answer(r.status_code, hs, body)


class Echo:
    """An upstream on 127.0.0.1 that answers with what it received (its capture)."""

    def __init__(self) -> None:
        self.captured: list[dict[str, Any]] = []
        echo = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                seen = {
                    "method": self.command,
                    "path": self.path,
                    "headers": dict(self.headers.items()),
                    "body": self.rfile.read(length).decode("utf-8", "replace"),
                }
                echo.captured.append(seen)
                out = json.dumps(seen).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            do_GET = do_POST = do_PUT = do_DELETE = _answer

            def log_message(self, *_: Any) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    host = "127.0.0.1"  # as keys and grants name hosts: no port

    @property
    def netloc(self) -> str:
        return f"127.0.0.1:{self._httpd.server_address[1]}"

    def __enter__(self) -> Echo:
        self._thread.start()
        return self

    def __exit__(self, *_: Any) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


@dataclass
class Doubles:
    directory: Directory
    requests: Requests
    sessions: Sessions
    broker: Broker


def doubles(tenant: str, echo_host: str) -> Doubles:
    requests = Requests()
    return Doubles(
        Directory([summary(tenant, "search", "openai-prod", echo_host)]),
        requests,
        Sessions(requests),
        Broker(),
    )


def ports(services: Any, settings: Any, d: Doubles) -> McpPorts:
    """The edge's ports with the real guard and these doubles for the domains."""
    return McpPorts(
        guard=services.guard,
        keys=d.directory,
        requests=d.requests,
        sessions=d.sessions,
        broker=d.broker,
        resource_url=settings.mcp.resource_url,
        max_body_bytes=settings.mcp.max_body_bytes,
    )


def echo_server() -> Iterator[Echo]:
    with Echo() as e:
        time.sleep(0)  # started
        yield e
