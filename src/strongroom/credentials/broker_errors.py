"""The broker's errors (stable codes ``BRKnnn``; README, table of error codes).

Messages are fixed: never the URL, a header, the upstream's answer or the key.
``details.reason`` may name one of a fixed set of words (``scheme``, ``userinfo``,
``tls``, ``connect``, ``protocol``, ``encoding``...), never caller input.
"""

from __future__ import annotations

from strongroom.errors import StrongroomError


class HostNotAllowed(StrongroomError):
    """The URL's host is not among the key's hosts (or the session's narrower ones)."""

    code, status, message = "BRK001", 403, "upstream host not allowed for this key"


class AddressRefused(StrongroomError):
    """Every address the host resolved to is loopback, private, link-local (metadata),
    carrier-grade NAT, multicast, reserved or an IPv6 form embedding one, and the key
    does not explicitly allow it."""

    code, status, message = "BRK002", 403, "upstream address refused"


class DnsFailed(StrongroomError):
    code, status, message = "BRK003", 502, "upstream host did not resolve"


class UpstreamTimeout(StrongroomError):
    """The upstream exchange did not complete within the broker's total time bound."""

    code, status, message = "BRK004", 504, "upstream timed out"


class UpstreamUnreachable(StrongroomError):
    """No usable answer: connection refused or reset, TLS verification failed, not
    HTTP, or an encoding the broker cannot read (``details.reason``)."""

    code, status, message = "BRK005", 502, "upstream unreachable or its answer unusable"


class ResponseTooLarge(StrongroomError):
    code, status, message = "BRK006", 502, "upstream answer larger than the broker allows"


class RequestTooLarge(StrongroomError):
    code, status, message = "BRK007", 413, "request body larger than the broker allows"


class RedirectRefused(StrongroomError):
    """The upstream answered a redirect to a host the key may not reach; it is never
    followed (``details.status`` gives the upstream's status)."""

    code, status, message = "BRK008", 502, "upstream redirected to a host not allowed"


class BadOutbound(StrongroomError):
    """The request to send is malformed: not http(s), credentials in the URL, no host,
    a header or path that cannot go on the wire (``details.reason``)."""

    code, status, message = "BRK009", 400, "malformed upstream request"


class MethodNotPermitted(StrongroomError):
    """The session's proxy token allows other methods only."""

    code, status, message = "BRK010", 403, "method not allowed for this session"
