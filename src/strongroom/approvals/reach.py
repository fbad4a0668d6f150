"""Hosts and methods: their normal form, and whether one pattern covers another.

A host is a lower-case DNS name or IPv4 address, optionally with ``:port``; a pattern
``*.example.com`` covers every name under ``example.com`` (one label or more), never
``example.com`` itself. Methods are upper-case HTTP methods.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from strongroom.errors import InvalidInput

_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
HOST = re.compile(rf"^(?:\*\.)?{_LABEL}(?:\.{_LABEL})*(?::[0-9]{{1,5}})?$")
METHODS = frozenset({"GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"})
MAX_HOSTS = 20


def hosts(values: Iterable[str], *, wildcards: bool = True) -> tuple[str, ...]:
    out = sorted({v.strip().lower().rstrip(".") for v in values})
    if not 1 <= len(out) <= MAX_HOSTS:
        raise InvalidInput("between 1 and 20 hosts", field="hosts")
    for h in out:
        if len(h) > 253 or not HOST.match(h) or (not wildcards and h.startswith("*.")):
            raise InvalidInput("not a host name", field="hosts")
    return tuple(out)


def methods(values: Iterable[str]) -> tuple[str, ...]:
    out = sorted({v.strip().upper() for v in values})
    if not out or not set(out) <= METHODS:
        raise InvalidInput("HTTP methods only", field="methods", allowed=sorted(METHODS))
    return tuple(out)


def covers(pattern: str, host: str) -> bool:
    if pattern == host:
        return True
    if pattern.startswith("*."):
        suffix = pattern[1:]  # ".example.com"
        return host.endswith(suffix) and not host.startswith("*.") and len(host) > len(suffix)
    return False


def within(allowed: Iterable[str], asked: Iterable[str]) -> bool:
    allowed = tuple(allowed)
    return all(any(covers(p, h) for p in allowed) for h in asked)


def text(*values: str) -> None:
    """PostgreSQL stores no NUL character in text: refused here, as bad input, rather
    than by the database (which would answer 503)."""
    if any("\x00" in v for v in values):
        raise InvalidInput("text holds a NUL character")
