"""The request an agent asks the broker to send, checked at the edge: an absolute
http(s) URL without credentials in it, headers as name/value pairs, a bounded body,
and never the proxy token anywhere in it (it authorises the call here and is never
forwarded upstream; the broker injects the stored key itself)."""

from __future__ import annotations

import base64
import binascii
import re
from urllib.parse import urlsplit

from strongroom.credentials.contract import Outbound
from strongroom.errors import InvalidInput, PayloadTooLarge

PROXY_TOKEN_PREFIX = "srp_"  # noqa: S105 (the prefix scanners know, not a token)
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}")
MAX_HEADERS = 50


def host_of(url: str) -> str:
    """The host a proxy token must allow: the name alone, lower case, as the broker
    matches a key's hosts (credentials/egress.py: hosts carry no port)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput("url: an absolute http or https URL", field="url")
    if parts.username is not None or parts.password is not None:
        raise InvalidInput("url: no credentials in the URL", field="url")
    try:
        _ = parts.port
    except ValueError:
        raise InvalidInput("url: bad port", field="url") from None
    return parts.hostname.lower().rstrip(".")


def outbound(
    method: str,
    url: str,
    headers: dict[str, str] | None,
    body: str | None,
    body_base64: str | None,
    token: str,
    max_bytes: int,
) -> Outbound:
    if body is not None and body_base64 is not None:
        raise InvalidInput("body or bodyBase64, not both", field="body")
    raw = b""
    if body is not None:
        raw = body.encode("utf-8")
    elif body_base64 is not None:
        try:
            raw = base64.b64decode(body_base64, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidInput("bodyBase64: not base64", field="bodyBase64") from None
    if len(raw) > max_bytes:
        raise PayloadTooLarge(limit=max_bytes)
    pairs = tuple((headers or {}).items())
    if len(pairs) > MAX_HEADERS:
        raise InvalidInput("too many headers", field="headers", maximum=MAX_HEADERS)
    for name, value in pairs:
        if not _HEADER_NAME.fullmatch(name) or any(c in value for c in "\r\n\x00"):
            raise InvalidInput("headers: bad name or value", field="headers")
    # The token is the caller's authority here, never the upstream's: refused wherever
    # it would leave (an agent that pastes it into Authorization learns so at once).
    marker = token.encode("utf-8") if token else b""
    leaked = PROXY_TOKEN_PREFIX.encode()
    texts = [url.encode("utf-8"), *(f"{n}:{v}".encode() for n, v in pairs)]
    if any(leaked in t or (marker and marker in t) for t in texts) or (marker and marker in raw):
        raise InvalidInput("the proxy token is never sent upstream", field="headers")
    return Outbound(method.upper(), url, pairs, raw)
