"""The broker's one upstream exchange, to a pinned address (docs/broker.md).

The request goes to the IP address ``egress.pin`` chose, never to a name: the
``Host`` header and TLS (SNI and certificate verification) still use the name, so a
certificate must be valid for the name the caller asked for. Connections are pooled
per (scheme, name, port, address), so a connection is reused only for the name it was
verified for and the address checked for it; each origin's connections are spread over
``SHARDS`` small pools, since httpcore's pool scans every connection of its pool for
each request it places (quadratic in the connections under concurrency). Redirects
are never followed (httpcore does not follow them); the answer is read as a stream and
cut past its bound; the whole exchange has one deadline.
"""

from __future__ import annotations

import asyncio
import ssl
import zlib
from collections import OrderedDict
from dataclasses import dataclass

import httpcore

from strongroom.credentials.broker_errors import (
    ResponseTooLarge,
    UpstreamTimeout,
    UpstreamUnreachable,
)
from strongroom.credentials.egress import IP, Destination

Headers = tuple[tuple[str, str], ...]
SHARDS = 8


@dataclass(frozen=True)
class EgressLimits:
    max_response_bytes: int = 8 * 1024 * 1024
    total_seconds: float = 30.0
    connect_seconds: float = 5.0
    max_connections: int = 128  # per pinned origin
    max_pools: int = 1024  # shards of pinned origins
    keepalive_seconds: float = 30.0


@dataclass(frozen=True)
class Upstream:
    status: int
    headers: Headers
    body: bytes


class PinnedClient:
    def __init__(self, limits: EgressLimits, ssl_context: ssl.SSLContext | None = None) -> None:
        self.limits = limits
        self._ssl = ssl_context or ssl.create_default_context()
        self._pools: OrderedDict[tuple[str, str, int, str, int], httpcore.AsyncConnectionPool] = (
            OrderedDict()
        )
        self._closing: set[asyncio.Task[None]] = set()
        self._turn = 0

    def _pool(self, dest: Destination, ip: IP) -> httpcore.AsyncConnectionPool:
        self._turn = (self._turn + 1) % SHARDS
        key = (dest.scheme, dest.host, dest.port, str(ip), self._turn)
        pool = self._pools.get(key)
        if pool is not None:
            self._pools.move_to_end(key)
            return pool
        pool = httpcore.AsyncConnectionPool(
            ssl_context=self._ssl,
            max_connections=max(1, -(-self.limits.max_connections // SHARDS)),
            keepalive_expiry=self.limits.keepalive_seconds,
        )
        self._pools[key] = pool
        while len(self._pools) > self.limits.max_pools:
            _, old = self._pools.popitem(last=False)
            task = asyncio.create_task(old.aclose())
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)
        return pool

    async def exchange(
        self, dest: Destination, ip: IP, method: str, headers: Headers, body: bytes
    ) -> Upstream:
        """One request/response with the pinned address; BRK004/005/006 on failure."""
        host = f"[{ip}]" if ip.version == 6 else str(ip)
        url = f"{dest.scheme}://{host}:{dest.port}{dest.target}"
        wire = [(b"Host", dest.authority.encode("ascii"))]
        wire += [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers]
        t = self.limits.connect_seconds
        ext: dict[str, object] = {
            "timeout": {"connect": t, "pool": t, "read": None, "write": None},
            "sni_hostname": dest.host,
        }
        try:
            async with asyncio.timeout(self.limits.total_seconds):
                return await self._send(dest, ip, method, url, wire, body, ext)
        except TimeoutError:
            raise UpstreamTimeout() from None
        except httpcore.TimeoutException:
            raise UpstreamTimeout() from None
        except httpcore.ConnectError as exc:
            tls = isinstance(exc.__context__ or exc.__cause__, ssl.SSLError)
            raise UpstreamUnreachable(reason="tls" if tls else "connect") from None
        except httpcore.ProtocolError:
            raise UpstreamUnreachable(reason="protocol") from None
        except (httpcore.NetworkError, OSError):
            raise UpstreamUnreachable(reason="connect") from None

    async def _send(
        self,
        dest: Destination,
        ip: IP,
        method: str,
        url: str,
        wire: list[tuple[bytes, bytes]],
        body: bytes,
        ext: dict[str, object],
    ) -> Upstream:
        limit = self.limits.max_response_bytes
        pool = self._pool(dest, ip)
        async with pool.stream(method.encode("ascii"), url, headers=wire, content=body,
                               extensions=ext) as resp:  # fmt: skip
            headers = tuple((k.decode("latin-1"), v.decode("latin-1")) for k, v in resp.headers)
            declared = _content_length(headers)
            if declared is not None and declared > limit:
                raise ResponseTooLarge()
            chunks: list[bytes] = []
            size = 0
            async for chunk in resp.aiter_stream():
                size += len(chunk)
                if size > limit:
                    raise ResponseTooLarge()
                chunks.append(chunk)
        raw = b"".join(chunks)
        encoding = [v for k, v in headers if k.lower() == "content-encoding"]
        if encoding:
            raw = decode(raw, ",".join(encoding), limit)
            headers = tuple((k, v) for k, v in headers if k.lower() != "content-encoding")
        return Upstream(resp.status, headers, raw)

    async def aclose(self) -> None:
        pools, self._pools = list(self._pools.values()), OrderedDict()
        for pool in pools:
            await pool.aclose()
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)


def _content_length(headers: Headers) -> int | None:
    for k, v in headers:
        if k.lower() == "content-length":
            try:
                return int(v)
            except ValueError:
                return None
    return None


def decode(raw: bytes, encodings: str, limit: int) -> bytes:
    """Undo ``Content-Encoding`` (gzip, deflate; we asked for identity) so the key can
    be scrubbed from what the caller reads; bounded like the body itself."""
    out = raw
    for enc in reversed([e.strip().lower() for e in encodings.split(",") if e.strip()]):
        if enc == "identity":
            continue
        if enc in ("gzip", "x-gzip"):
            wbits = 16 + zlib.MAX_WBITS
        elif enc == "deflate":
            wbits = zlib.MAX_WBITS if out[:1] == b"\x78" else -zlib.MAX_WBITS
        else:
            raise UpstreamUnreachable(reason="encoding")
        d = zlib.decompressobj(wbits)
        try:
            plain = d.decompress(out, limit + 1)
        except zlib.error:
            raise UpstreamUnreachable(reason="encoding") from None
        if len(plain) > limit or d.unconsumed_tail:
            raise ResponseTooLarge()
        out = plain
    return out
