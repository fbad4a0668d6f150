"""The web side of the approvals page's sign-in (api/routers/approvals_page.py):
cookies, CSRF and the headers of every answer.

An approver signs in once with an access key or an OIDC bearer token, posted in a form
(never in a URL); the guard checks it and the page keeps, server-side, only the
principal it resolved. The browser holds a random session id in a cookie (HttpOnly,
SameSite=Strict, ``Secure`` and the ``__Host-`` prefix over https). The sessions
themselves (SHA-256 of the id, 15 min, not renewed, ended at logout on every replica
at once) live in the database: access/page_sessions.py. Every form carries the
session's synchronizer token (compared in constant time); every POST must also come
from this page's own origin (``Origin``, else ``Referer``).
"""

from __future__ import annotations

import hmac

from starlette.requests import Request

LOGIN_TTL_SECONDS = 10 * 60
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


def same(a: str, b: str) -> bool:
    """Constant-time equality of two tokens (a missing one never matches)."""
    return bool(a) and bool(b) and hmac.compare_digest(a.encode(), b.encode())


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
