"""Test parts for the credential broker: local upstreams on 127.0.0.1 (an HTTP echo
server with hostile behaviours, the same over TLS with a test CA), a stub DNS
resolver, a key resolver and a usage sink that keeps what it is told."""

from __future__ import annotations

import asyncio
import gzip
import json
import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cryptography import x509

from strongroom.context import Actor
from strongroom.credentials.contract import BrokerTarget, Injection, InjectionKind, Use
from strongroom.errors import NotFound
from tests.pki import Issued, issue, make_ca


@dataclass
class Seen:
    method: str
    target: str
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)


@dataclass
class Upstream:
    """An HTTP/1.1 server on 127.0.0.1 answering by path:

    ``/echo`` (JSON of what it received, headers included), ``/gzip-echo`` (the same
    gzip-encoded), ``/redirect?to=URL`` (302), ``/status/N``, ``/huge`` (a declared
    64 MiB body), ``/endless`` (chunked, never ending), ``/slow`` (one byte a second),
    ``/hang`` (no answer), ``/garbage`` (not HTTP), ``/close`` (closes at once).
    Everything received is kept in ``seen``."""

    port: int = 0
    seen: list[Seen] = field(default_factory=list)
    server: asyncio.Server | None = None
    tls: bool = False
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    writers: set[asyncio.StreamWriter] = field(default_factory=set)
    stopping: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def base(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    async def start(self, context: ssl.SSLContext | None = None) -> Upstream:
        self.tls = context is not None
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=context)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        # Handlers end on their own (no cancellation: asyncio logs a cancelled
        # connection handler as an error): the hostile ones watch ``stopping``.
        self.stopping.set()
        if self.server is not None:
            self.server.close()
        for w in list(self.writers):
            w.close()
        if self.tasks:
            await asyncio.wait(self.tasks, timeout=5)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.tasks.add(task)
        self.writers.add(writer)
        try:
            while await self._one(reader, writer):
                pass
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            pass
        finally:
            self.tasks.discard(task)
            self.writers.discard(writer)
            writer.close()

    async def _stopped_within(self, seconds: float) -> bool:
        try:
            await asyncio.wait_for(self.stopping.wait(), seconds)
        except TimeoutError:
            return False
        return True

    async def _one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, target, _ = lines[0].split(" ", 2)
        headers = [tuple(h.split(": ", 1)) for h in lines[1:] if h]
        pairs = [(k, v) for k, v in headers]
        length = int(next((v for k, v in pairs if k.lower() == "content-length"), "0"))
        body = await reader.readexactly(length) if length else b""
        seen = Seen(method, target, pairs, body)
        self.seen.append(seen)
        path = urlsplit(target).path
        query = parse_qs(urlsplit(target).query)
        if path in ("/echo", "/gzip-echo"):
            data = json.dumps(
                {
                    "method": method,
                    "target": target,
                    "headers": pairs,
                    "body": body.decode("latin-1"),
                }
            ).encode()
            extra = [("Content-Type", "application/json")]
            if path == "/gzip-echo":
                data = gzip.compress(data)
                extra.append(("Content-Encoding", "gzip"))
            echo = next(
                (v for k, v in pairs if k.lower() in ("authorization", "x-upstream-key")), ""
            )
            extra.append(("X-Echo", echo))
            await _answer(writer, 200, data, tuple(extra))
        elif path == "/redirect":
            await _answer(writer, 302, b"", (("Location", query["to"][0]),))
        elif path.startswith("/status/"):
            await _answer(writer, int(path.rsplit("/", 1)[1]), b"status")
        elif path == "/huge":
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 67108864\r\n\r\n")
            for _ in range(64):
                writer.write(b"x" * 1024 * 1024)
                await writer.drain()
            return False
        elif path == "/endless":
            writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            while not self.stopping.is_set():
                writer.write(b"10000\r\n" + b"y" * 0x10000 + b"\r\n")
                await writer.drain()
            return False
        elif path == "/slow":
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")
            for _ in range(100):
                writer.write(b"s")
                await writer.drain()
                if await self._stopped_within(1.0):
                    return False
        elif path == "/hang":
            await self.stopping.wait()
            return False
        elif path == "/garbage":
            writer.write(b"\x00\xffTHIS IS NOT HTTP\r\n\r\n")
            await writer.drain()
            return False
        elif path == "/close":
            return False
        else:
            await _answer(writer, 404, b"no")
        return True


_ECHOED = ("authorization", "x-upstream-key")


async def _answer(
    writer: asyncio.StreamWriter,
    status: int,
    body: bytes,
    headers: tuple[tuple[str, str], ...] = (),
) -> None:
    head = f"HTTP/1.1 {status} X\r\nContent-Length: {len(body)}\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers)
    writer.write(head.encode("latin-1") + b"\r\n" + body)
    await writer.drain()


class StubDns:
    """Answers from a table; a name mapped to a list of lists answers the N-th list to
    the N-th query (DNS that changes between two lookups). Counts queries per name."""

    def __init__(self, table: dict[str, Any] | None = None) -> None:
        self.table: dict[str, Any] = dict(table or {})
        self.queries: dict[str, int] = {}

    async def resolve(self, host: str, port: int) -> list[str]:
        n = self.queries.get(host, 0)
        self.queries[host] = n + 1
        answer = self.table.get(host)
        if answer is None:
            raise OSError("NXDOMAIN")
        if answer and isinstance(answer[0], list):
            return list(answer[min(n, len(answer) - 1)])
        return list(answer)


@dataclass
class Keys:
    """A ``TargetResolver`` over a dict ``(project, key) -> BrokerTarget``."""

    targets: dict[tuple[str, str], BrokerTarget] = field(default_factory=dict)

    async def for_use(self, actor: Actor, project: str, key: str) -> BrokerTarget:
        target = self.targets.get((project, key))
        if target is None or target.tenant != actor.tenant:
            raise NotFound()
        return target


@dataclass
class Uses:
    """A ``UsageSink`` that keeps every use."""

    uses: list[Use] = field(default_factory=list)

    def record(self, use: Use) -> None:
        self.uses.append(use)


def target(
    value: bytes,
    hosts: tuple[str, ...] = ("api.test",),
    *,
    tenant: str = "default",
    project: str = "proj",
    name: str = "openai",
    networks: tuple[str, ...] = ("127.0.0.0/8",),
    injection: Injection | None = None,
    previous: bytes | None = None,
) -> BrokerTarget:
    return BrokerTarget(
        tenant,
        project,
        name,
        7,
        hosts,
        networks,
        injection or Injection(InjectionKind.HEADER, "Authorization", "Bearer {key}"),
        value,
        previous,
    )


@dataclass
class TlsSetup:
    """A CA, a server certificate for ``names`` under it, and both SSL contexts."""

    ca: Issued
    server: ssl.SSLContext
    client: ssl.SSLContext


def make_tls(directory: Path, names: tuple[str, ...] = ("api.test",)) -> TlsSetup:
    ca = make_ca("Broker Test CA")
    leaf = issue(ca, names[0], sans=[x509.DNSName(n) for n in names], server=True)
    cert, key = leaf.write(directory, "upstream")
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert, key)
    client = ssl.create_default_context(cadata=ca.pem.decode())
    return TlsSetup(ca, server, client)
