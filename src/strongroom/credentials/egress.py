"""Where the broker may send a key: the pure rules (docs/broker.md, threat model).

* ``parse_url``: only ``http``/``https``, no credentials in the URL, a host in its
  canonical form (lowercase, no trailing dot, IDNA A-labels), a path that can go on
  the wire as is.
* ``host_allowed``: exact names, or ``*.example.com`` for one label or more under
  ``example.com`` (never ``example.com`` itself), compared in the same canonical form.
* ``address_refused``: loopback, private (RFC 1918, ULA), link-local (the cloud
  metadata address 169.254.169.254 among them), carrier-grade NAT, unspecified,
  multicast, broadcast and reserved addresses, and IPv6 forms that embed an IPv4
  address (mapped, NAT64, 6to4, Teredo) judged by what they embed, unless one of the
  key's ``allowed_networks`` contains the address itself.
* ``pin``: resolve once through a ``Resolver`` and keep the first address that may
  be reached: the connection goes to that address, never to a second lookup's.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

import idna

from strongroom.credentials.broker_errors import AddressRefused, BadOutbound, DnsFailed

IP = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")  # RFC 8215: local use only
_V4_COMPAT = ipaddress.ip_network("::/96")  # deprecated IPv4-compatible addresses
_SCHEMES = {"http": 80, "https": 443}
# What may stand in a request target as sent: RFC 3986's characters, no space or
# control character (a CR/LF would split the request).
_TARGET = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=:@/?%\[\]]*")
MAX_HOST = 253


@dataclass(frozen=True)
class Destination:
    scheme: str
    host: str  # canonical: lowercase ASCII, no trailing dot (an IPv6 literal unbracketed)
    port: int
    target: str  # path and query, as sent ("/v1/x?a=1")

    @property
    def default_port(self) -> bool:
        return _SCHEMES[self.scheme] == self.port

    @property
    def authority(self) -> str:
        """The ``Host`` header: the name, with the port when it is not the default."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.default_port else f"{host}:{self.port}"

    @property
    def path(self) -> str:
        return self.target.partition("?")[0]

    @property
    def query(self) -> str:
        return self.target.partition("?")[2]


def canonical_host(host: str) -> str:
    """Lowercase, one trailing dot removed, IDNA A-labels (UTS 46). BRK009 when it is
    not a host name or an IP literal."""
    h = host.strip()
    h = h[:-1] if h.endswith(".") else h
    if h.startswith("[") and h.endswith("]"):
        h = h[1:-1]
    try:
        return str(ipaddress.ip_address(h))
    except ValueError:
        pass
    if not h or len(h) > MAX_HOST:
        raise BadOutbound(reason="host")
    try:
        ascii_host = idna.encode(h, uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError):
        raise BadOutbound(reason="host") from None
    return ascii_host.lower()


def canonical_pattern(pattern: str) -> str | None:
    """A host pattern in the form ``host_allowed`` compares; None when malformed."""
    wild = pattern.startswith("*.")
    try:
        rest = canonical_host(pattern[2:] if wild else pattern)
    except BadOutbound:
        return None
    return f"*.{rest}" if wild else rest


def host_allowed(host: str, patterns: tuple[str, ...]) -> bool:
    """``host`` (canonical) matches one of ``patterns``: an exact name, or ``*.suffix``
    for one label or more under ``suffix``."""
    for raw in patterns:
        p = canonical_pattern(raw)
        if p is None:
            continue
        if p.startswith("*."):
            if host.endswith(p[1:]) and len(host) > len(p) - 1:
                return True
        elif host == p:
            return True
    return False


def parse_url(url: str) -> Destination:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise BadOutbound(reason="url") from None
    scheme = parts.scheme.lower()
    if scheme not in _SCHEMES:
        raise BadOutbound(reason="scheme")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise BadOutbound(reason="userinfo")
    if not parts.hostname:
        raise BadOutbound(reason="host")
    # urlsplit lowercases hostname and strips IPv6 brackets; keep IDNA input intact.
    raw_host = parts.netloc.rsplit(":", 1)[0] if parts.port is not None else parts.netloc
    host = canonical_host(raw_host)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if not target.startswith("/") or not _TARGET.fullmatch(target):
        raise BadOutbound(reason="path")
    return Destination(scheme, host, port or _SCHEMES[scheme], target)


def embedded_v4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries (mapped, NAT64, 6to4, Teredo client,
    IPv4-compatible), which is where a packet to it ends up."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _NAT64 or (ip in _V4_COMPAT and int(ip) > 1):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    return None


def _v4_refused(ip: ipaddress.IPv4Address) -> bool:
    # is_global is False for RFC 1918, loopback, link-local, 0/8, broadcast, 240/4,
    # documentation ranges and (explicitly checked too) 100.64.0.0/10.
    return (
        not ip.is_global
        or ip in _CGNAT
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or ip.is_link_local
        or ip.is_loopback
    )


def address_refused(ip: IP, allowed: tuple[Network, ...] = ()) -> bool:
    """Whether the broker must not connect to ``ip`` (see the module's docstring)."""
    if any(ip.version == n.version and ip in n for n in allowed):
        return False
    if isinstance(ip, ipaddress.IPv4Address):
        return _v4_refused(ip)
    inner = embedded_v4(ip)
    if inner is not None:
        return _v4_refused(inner) or ip.is_multicast
    if ip in _NAT64_LOCAL or ip.teredo is not None:
        return True
    return (
        not ip.is_global
        or ip.is_multicast
        or ip.is_site_local
        or ip.is_link_local
        or ip.is_reserved
        or ip.is_loopback
        or ip.is_unspecified
    )


def networks(cidrs: tuple[str, ...]) -> tuple[Network, ...]:
    """A key's ``allowed_networks``; a malformed entry allows nothing."""
    out: list[Network] = []
    for c in cidrs:
        try:
            out.append(ipaddress.ip_network(c, strict=False))
        except ValueError:
            continue
    return tuple(out)


class Resolver(Protocol):
    async def resolve(self, host: str, port: int) -> list[str]:
        """Every address ``host`` resolves to, in the order to try them."""
        ...


class SystemResolver:
    """The operating system's resolver (getaddrinfo, in the event loop's executor)."""

    async def resolve(self, host: str, port: int) -> list[str]:
        loop = asyncio.get_running_loop()
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        return [str(info[4][0]) for info in infos]


async def pin(resolver: Resolver, dest: Destination, allowed: tuple[Network, ...]) -> IP:
    """Resolve ``dest.host`` once and pick the first address that may be reached.
    Refused answers are skipped (a name answering both a public and a metadata
    address reaches the public one only); none left: BRK002."""
    try:
        literal: IP | None = ipaddress.ip_address(dest.host)
    except ValueError:
        literal = None
    if literal is not None:
        candidates: list[IP] = [literal]
    else:
        try:
            answers = await resolver.resolve(dest.host, dest.port)
        except (OSError, UnicodeError):
            raise DnsFailed() from None
        candidates = []
        for a in answers:
            try:
                candidates.append(ipaddress.ip_address(a.split("%", 1)[0]))
            except ValueError:
                continue
        if not candidates:
            raise DnsFailed()
    for ip in candidates:
        if not address_refused(ip, allowed):
            return ip
    raise AddressRefused()
