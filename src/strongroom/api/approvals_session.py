"""Sign-in sessions of the approvals page (api/routers/approvals_page.py).

An approver signs in once with an access key or an OIDC bearer token, posted in a form
(never in a URL); the guard checks it and the page keeps, server-side, only the
principal it resolved. The browser holds a random session id in a cookie (HttpOnly,
SameSite=Strict, ``Secure`` and the ``__Host-`` prefix over https); the store keeps its
SHA-256, never the id itself, and never the credential. Sessions are short (15 min,
not renewed), bounded in number, and end at logout. Every form carries the session's
synchronizer token (compared in constant time); every POST must also come from this
page's own origin (``Origin``, else ``Referer``).

The store lives in the process: behind several workers an approver signs in again on
each (docs/approvals.md). A revoked access key keeps a page session until it ends (at
most the TTL); each action is authorized again by the guard against the principal.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass, field

from starlette.requests import Request

from strongroom.access.models import Principal

TTL_SECONDS = 15 * 60
LOGIN_TTL_SECONDS = 10 * 60
MAX_SESSIONS = 10_000
COOKIE = "sr-approvals"
LOGIN_COOKIE = "sr-approvals-login"

# Every answer of the page: not cached, not framed, no scripts, no referrer leaks.
# ``same-origin``, not ``no-referrer``: under ``no-referrer`` a browser sends
# ``Origin: null`` with the page's own form posts, and the Origin check could not tell
# them from a sandboxed frame's; ``same-origin`` still sends nothing to other origins.
CSP = (
    "default-src 'self'; script-src 'none'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
    "Pragma": "no-cache",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "X-Robots-Tag": "noindex, nofollow",
}


@dataclass
class PageSession:
    principal: Principal
    tenant: str
    csrf: str = field(repr=False)
    expires: float


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def same(a: str, b: str) -> bool:
    """Constant-time equality of two tokens (a missing one never matches)."""
    return bool(a) and bool(b) and hmac.compare_digest(a.encode(), b.encode())


class PageSessions:
    def __init__(self, ttl: float = TTL_SECONDS, limit: int = MAX_SESSIONS) -> None:
        self._ttl, self._limit = ttl, limit
        self._by_hash: OrderedDict[str, PageSession] = OrderedDict()

    def open(self, principal: Principal, tenant: str) -> tuple[str, PageSession]:
        """A new session: (the id for the cookie, the session)."""
        self._sweep()
        while len(self._by_hash) >= self._limit:
            self._by_hash.popitem(last=False)  # the oldest gives way
        sid = secrets.token_urlsafe(32)
        s = PageSession(principal, tenant, secrets.token_urlsafe(32), time.time() + self._ttl)
        self._by_hash[_digest(sid)] = s
        return sid, s

    def get(self, sid: str | None) -> PageSession | None:
        if not sid or len(sid) > 128:
            return None
        s = self._by_hash.get(_digest(sid))
        if s is None or s.expires <= time.time():
            return None
        return s

    def close(self, sid: str | None) -> None:
        if sid:
            self._by_hash.pop(_digest(sid), None)

    def _sweep(self) -> None:
        now = time.time()
        for key in [k for k, s in self._by_hash.items() if s.expires <= now]:
            del self._by_hash[key]


def store(request: Request) -> PageSessions:
    """The app's session store (one per app, made on first use)."""
    state = request.app.state
    found: PageSessions | None = getattr(state, "approval_pages", None)
    if found is None:
        found = PageSessions()
        state.approval_pages = found
    return found


def secure(request: Request) -> bool:
    return request.url.scheme == "https"


def cookie_name(request: Request, base: str = COOKIE) -> str:
    """``__Host-`` needs ``Secure``, which a browser keeps only over https."""
    return f"__Host-{base}" if secure(request) else base


def same_origin(request: Request) -> bool:
    """Whether a POST comes from this service's own pages: its ``Origin`` (or, when a
    browser sends none, its ``Referer``) names this scheme, host and port."""
    own = f"{request.url.scheme}://{request.url.netloc}"
    origin = request.headers.get("origin")
    if origin is not None:
        return origin == own
    referer = request.headers.get("referer")
    return referer is not None and (referer == own or referer.startswith(own + "/"))
