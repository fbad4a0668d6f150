"""Settings of the credential broker (credentials/broker.py, docs/broker.md)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from strongroom.config.base import Section


class BrokerSettings(Section):
    """The credential broker: bounds on what goes upstream and what comes back."""

    max_request_bytes: int = Field(default=1024 * 1024, ge=0)
    """Bytes of a brokered request's body (more: 413 ``BRK007``). The HTTP server's
    ``MAX_BODY_BYTES`` bounds the request to Strongroom as a whole, before this."""
    max_response_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)
    """Bytes of an upstream's answer, after undoing gzip/deflate (more: 502 ``BRK006``;
    the answer is read as a stream and cut there)."""
    timeout_seconds: float = Field(default=30.0, gt=0, le=600)
    """The whole upstream exchange, from connecting to the last byte of the answer
    (past it: 504 ``BRK004``): a slow or stalled upstream never holds a call longer."""
    connect_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    """Connecting (and TLS) to the upstream, and waiting for a pooled connection."""
    max_connections_per_upstream: int = Field(default=128, ge=1)
    """Connections kept per upstream (name, port and pinned address); more concurrent
    calls to it wait for one."""
    ca_file: Path | None = None
    """PEM bundle of the CAs an upstream's certificate must chain to; default: the
    system's trust store. The certificate is verified for the host name asked for,
    although the connection goes to the pinned address."""
