"""Shaping what goes upstream and what comes back (the broker's pure steps).

Caller headers that could carry a credential or steer the connection never go
upstream: ``Authorization``, ``Proxy-Authorization``, ``Cookie``, Strongroom's own
``X-API-Key`` and ``X-Tenant-Id`` (a forward-proxy caller sends them to us), the
key's injection header, hop-by-hop headers and those ``Connection`` names, framing
(recomputed), ``Forwarded``/``X-Forwarded-*`` (internal addresses), and
``Accept-Encoding`` (replaced by ``identity``, so an echoed key is never hidden in
compressed bytes).
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, quote, unquote

from strongroom.credentials.broker_errors import BadOutbound
from strongroom.credentials.contract import BrokerTarget, Injection, InjectionKind
from strongroom.credentials.egress import Destination

Headers = tuple[tuple[str, str], ...]

_HOP = {
    "connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding",
    "upgrade", "host", "content-length",
}  # fmt: skip
_CREDENTIALS = {"authorization", "proxy-authorization", "cookie", "x-api-key", "x-tenant-id"}
_STEERING = {"forwarded", "x-real-ip", "accept-encoding"}
_RESPONSE_DROP = {*_HOP, "proxy-authenticate", "content-encoding"}
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,64}")
_FIELD_VALUE = re.compile(r"[\t\x20-\x7e\x80-\xff]*")
METHODS = re.compile(r"[A-Z]{1,16}")
REFUSED_METHODS = {"CONNECT", "TRACE"}  # a tunnel; an echo of the request with the key
_BODY_METHODS = {"POST", "PUT", "PATCH"}
MAX_HEADERS = 100


def check_method(method: str) -> str:
    m = method.upper()
    if not METHODS.fullmatch(m) or m in REFUSED_METHODS:
        raise BadOutbound(reason="method")
    return m


def request_headers(
    method: str, given: Headers, injection: Injection, body: bytes, rendered: str | None
) -> Headers:
    """The headers to send: the caller's minus the ones above, then ours."""
    if len(given) > MAX_HEADERS:
        raise BadOutbound(reason="headers")
    named_by_connection: set[str] = set()
    for k, v in given:
        if k.lower() == "connection":
            named_by_connection |= {p.strip().lower() for p in v.split(",")}
    drop = _HOP | _CREDENTIALS | _STEERING | named_by_connection
    if injection.kind is InjectionKind.HEADER:
        drop.add(injection.name.lower())
    out: list[tuple[str, str]] = []
    for k, v in given:
        if not _TOKEN.fullmatch(k) or not _FIELD_VALUE.fullmatch(v):
            raise BadOutbound(reason="headers")
        low = k.lower()
        if low in drop or low.startswith("x-forwarded-") or low.startswith("proxy-"):
            continue
        out.append((k, v))
    out.append(("Accept-Encoding", "identity"))
    if body or method in _BODY_METHODS:
        out.append(("Content-Length", str(len(body))))
    if rendered is not None:
        out.append((injection.name, rendered))
    return tuple(out)


def render(target: BrokerTarget) -> str:
    """The injected text (``Bearer {key}`` with the value); BRK009 when the stored
    template or value cannot go on the wire (CR, LF, NUL)."""
    inj = target.injection
    if inj.template.count("{key}") != 1 or not _TOKEN.fullmatch(inj.name):
        raise BadOutbound(reason="injection")
    text = inj.template.replace("{key}", target.value.decode("latin-1"))
    if not _FIELD_VALUE.fullmatch(text):
        raise BadOutbound(reason="injection")
    return text


def with_query(dest: Destination, name: str, rendered: str) -> Destination:
    """``dest`` with ``name=rendered`` as its query parameter, any caller-sent
    parameter of that name removed."""
    kept = [
        p
        for p in dest.query.split("&")
        if p and unquote(p.partition("=")[0].replace("+", " ")) != name
    ]
    kept.append(f"{quote(name, safe='')}={quote(rendered, safe='')}")
    target = f"{dest.path}?{'&'.join(kept)}"
    return Destination(dest.scheme, dest.host, dest.port, target)


def response_headers(headers: Headers) -> Headers:
    """The upstream's headers minus hop-by-hop ones and framing (the edge frames the
    answer again)."""
    return tuple((k, v) for k, v in headers if k.lower() not in _RESPONSE_DROP)


_WORD = re.compile(r"[A-Za-z][A-Za-z._-]{0,31}(?:v?\d{1,3})?|v\d{1,3}(?:\.\d{1,3})?")
_PARAM = re.compile(r"[A-Za-z0-9_.\-\[\]]{1,32}")


def path_template(dest: Destination) -> str:
    """The path as the audit trail keeps it: word-like segments kept, anything that
    may be an identifier or a value (digits, hex, long tokens) as ``{}``; the query's
    parameter names only (``/v1/users/{}?limit&page``). Bounded."""
    segs = ["" if not s else s if _WORD.fullmatch(s) else "{}" for s in dest.path.split("/")]
    path = "/".join(segs)[:200]
    names = sorted({k for k, _ in parse_qsl(dest.query, keep_blank_values=True)})
    params = [n if _PARAM.fullmatch(n) else "{}" for n in names[:10]]
    return path + ("?" + "&".join(params) if params else "")
