"""The approvals page: a human approver's inbox of pending MCP access requests, each
with its score and every factor's contribution, and approve / deny forms. The URL an
agent's ``request_access`` returns (``APPROVALS_APPROVAL_URL``, ``/approvals/{id}``)
opens here.

Decisions call the same domain method as ``POST /api/v1/mcp/requests/{id}/approve``
(approvals/decisions.py), which refuses self-approval, a replayed or mismatched
digest and a decided or expired request; the page shows its refusal as a message.
Cookies, CSRF and framing: api/approvals_session.py; the sign-in sessions themselves
are in the database, shared by every worker and replica (access/page_sessions.py).
Plain routes, not API operations: no OpenAPI entry, no client method.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Awaitable, Callable
from urllib.parse import parse_qs, quote

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.convertors import StringConvertor, register_url_convertor

from strongroom.access.guard import Presented, RequestContext
from strongroom.access.page_sessions import TTL_SECONDS, PageSession
from strongroom.access.permissions import Permission
from strongroom.api import approvals_html as html
from strongroom.api.approvals_session import (
    HEADERS,
    LOGIN_COOKIE,
    LOGIN_TTL_SECONDS,
    cookie_name,
    same,
    same_origin,
    secure,
)
from strongroom.api.deps import app_services
from strongroom.approvals.digest import of_ask
from strongroom.audit.actions import ApprovalAction
from strongroom.audit.models import AuditEvent, Outcome
from strongroom.context import Actor
from strongroom.errors import StrongroomError

router = APIRouter()
READ, APPROVE = Permission.MCP_REQUESTS_READ, Permission.MCP_REQUESTS_APPROVE
_ID = re.compile(r"^[0-9a-f]{32}$")
_DIGEST = re.compile(r"^[0-9a-f]{64}$")
_NEXT = re.compile(r"^/approvals(/[0-9a-f]{32})?$")
MAX_FORM = 16 * 1024


class ApprovalIdConvertor(StringConvertor):
    """Only a request id matches: ``/approvals/login`` names no request."""

    regex = "[0-9a-f]{32}"


register_url_convertor("approvalid", ApprovalIdConvertor())


def _html(body: str, status: int = 200) -> Response:
    return Response(body, status, media_type="text/html; charset=utf-8", headers=HEADERS)


def _redirect(to: str) -> Response:
    return Response(status_code=303, headers={**HEADERS, "Location": to})


def _forbidden(text: str = "This form was not sent from this page; reload it.") -> Response:
    return _html(html.page("Approvals: refused", html.message(text)), 403)


async def _form(request: Request) -> dict[str, str] | None:
    """The url-encoded form (the first of a repeated field), or None when too big."""
    raw = await request.body()
    if len(raw) > MAX_FORM:
        return None
    pairs = parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True)
    return {k: v[0] for k, v in pairs.items()}


async def _session(request: Request) -> tuple[str | None, PageSession | None]:
    """The cookie's session, shared by every replica (access/page_sessions.py)."""
    sid = request.cookies.get(cookie_name(request))
    return sid, await app_services(request).page_sessions.get(sid)


def _context(request: Request, s: PageSession) -> RequestContext:
    """The signed-in principal, in the tenant it signed in to, for this request."""
    client = request.client.host if request.client else None
    actor = Actor(s.principal.id, s.tenant, request.scope["state"]["request_id"], client)
    ctx = RequestContext(actor, s.principal)
    app_services(request).guard.resume(ctx)
    return ctx


def _to_login(request: Request) -> Response:
    path = request.url.path
    return _redirect("/approvals/login" + (f"?next={quote(path)}" if _NEXT.match(path) else ""))


# --- sign in / out ------------------------------------------------------------------


async def login_form(request: Request) -> Response:
    token = secrets.token_urlsafe(32)
    nxt = request.query_params.get("next", "/approvals")
    answer = _html(html.login(token, nxt if _NEXT.match(nxt) else "/approvals"))
    _set_cookie(request, answer, cookie_name(request, LOGIN_COOKIE), token, LOGIN_TTL_SECONDS)
    return answer


def _set_cookie(request: Request, r: Response, name: str, value: str, ttl: int) -> None:
    r.set_cookie(
        name, value, max_age=ttl, path="/", secure=secure(request), httponly=True, samesite="strict"
    )


async def login(request: Request) -> Response:
    """Check the posted credential with the guard (its failures are audited and drawn
    from the address's budget there) and open a page session for its principal."""
    form = await _form(request)
    pre = request.cookies.get(cookie_name(request, LOGIN_COOKIE), "")
    if form is None or not same_origin(request) or not same(form.get("csrf", ""), pre):
        return _forbidden()
    nxt = form.get("next", "/approvals")
    nxt = nxt if _NEXT.match(nxt) else "/approvals"
    credential = form.get("credential", "").strip()
    svc = app_services(request)
    # A JWT has three dot-separated parts; an access key has none.
    bearer = credential.count(".") == 2
    client = request.client.host if request.client else None
    presented = Presented(
        request.scope["state"]["request_id"],
        client,
        None if bearer else credential or None,
        credential if bearer else None,
    )
    try:
        ctx = await svc.guard.authenticate(presented)
    except StrongroomError as exc:
        token = pre  # the same pre-login token: the form stays usable
        text = "Sign-in failed." if exc.status == 401 else exc.text
        return _html(html.login(token, nxt, text), exc.status if exc.status < 500 else 503)
    sid, _ = await svc.page_sessions.open(ctx.principal, ctx.actor.tenant)
    await svc.audit.append(AuditEvent(ctx.actor, ApprovalAction.PAGE_LOGIN, Outcome.SUCCESS))
    answer = _redirect(nxt)
    _set_cookie(request, answer, cookie_name(request), sid, TTL_SECONDS)
    answer.delete_cookie(cookie_name(request, LOGIN_COOKIE), path="/", secure=secure(request))
    return answer


async def logout(request: Request) -> Response:
    sid, s = await _session(request)
    if s is None:
        return _to_login(request)
    form = await _form(request)
    if form is None or not same_origin(request) or not same(form.get("csrf", ""), s.csrf):
        return _forbidden()
    svc = app_services(request)
    await svc.page_sessions.close(sid)  # gone for every replica at once
    ctx = _context(request, s)
    await svc.audit.append(AuditEvent(ctx.actor, ApprovalAction.PAGE_LOGOUT, Outcome.SUCCESS))
    answer = _redirect("/approvals/login")
    answer.delete_cookie(cookie_name(request), path="/", secure=secure(request))
    return answer


# --- pages --------------------------------------------------------------------------

Handler = Callable[[Request, PageSession, RequestContext], Awaitable[Response]]


def signed_in(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """Redirect to sign-in without a live session; show a refusal as a page."""

    async def endpoint(request: Request) -> Response:
        _, s = await _session(request)
        if s is None:
            return _to_login(request)
        ctx = _context(request, s)
        try:
            return await handler(request, s, ctx)
        except StrongroomError as exc:
            text = f"Refused ({exc.code}): {exc.text}."
            status = exc.status if exc.status < 500 else 503
            return _html(html.page("Approvals: refused", html.message(text)), status)

    return endpoint


async def _own_only(request: Request, ctx: RequestContext) -> str | None:
    """None: reads the whole tenant's requests; else only the principal's own."""
    svc = app_services(request)
    if ctx.principal.can(READ, ctx.actor.tenant):
        return None
    await svc.guard.authorize(ctx, READ, ctx.principal.id)
    return ctx.principal.id


async def inbox(request: Request, s: PageSession, ctx: RequestContext) -> Response:
    svc = app_services(request)
    mine = await _own_only(request, ctx)
    await svc.guard.record_read(ctx, READ, "/approvals", None)
    views, _ = await svc.approvals.requests.list_pending(ctx.actor.tenant, 200, None)
    if mine is not None:
        views = [v for v in views if v.requester == mine]
    return _html(html.inbox(views, s.principal.id, s.csrf, None))


async def one(request: Request, s: PageSession, ctx: RequestContext) -> Response:
    return await _show(request, s, ctx, request.path_params["requestId"])


async def _show(
    request: Request,
    s: PageSession,
    ctx: RequestContext,
    rid: str,
    note: str | None = None,
    ok: bool = False,
    status: int = 200,
) -> Response:
    svc = app_services(request)
    mine = await _own_only(request, ctx)
    if request.method == "GET":
        await svc.guard.record_read(ctx, READ, "/approvals/{requestId}", rid)
    v = await svc.approvals.requests.get(ctx.actor, rid, requester=mine)
    can = ctx.principal.can(APPROVE, ctx.actor.tenant)
    body = html.detail(v, of_ask(v.ask), s.principal.id, s.csrf, can, note, ok)
    return _html(body, status)


def _decision(approve: bool) -> Handler:
    async def decide(request: Request, s: PageSession, ctx: RequestContext) -> Response:
        form = await _form(request)
        if form is None or not same_origin(request) or not same(form.get("csrf", ""), s.csrf):
            return _forbidden()
        rid = request.path_params["requestId"]
        svc = app_services(request)
        await svc.guard.authorize(ctx, APPROVE)
        digest, reason = form.get("digest", ""), form.get("reason", "").strip()
        if not _DIGEST.match(digest) or len(reason) > 500 or (not approve and not reason):
            text = "A denial needs a reason (at most 500 characters)."
            return await _show(request, s, ctx, rid, text, status=422)
        try:
            await svc.approvals.requests.decide(ctx.actor, rid, approve, reason, digest)
        except StrongroomError as exc:
            text = f"Refused ({exc.code}): {exc.text}."
            return await _show(request, s, ctx, rid, text, status=exc.status)
        return _redirect(f"/approvals/{rid}")

    return decide


async def style(_: Request) -> Response:
    return Response(html.STYLE, media_type="text/css", headers=HEADERS)


_ROUTES: tuple[tuple[str, Callable[[Request], Awaitable[Response]], list[str]], ...] = (
    ("/approvals/page.css", style, ["GET", "HEAD"]),
    ("/approvals/login", login_form, ["GET", "HEAD"]),
    ("/approvals/login", login, ["POST"]),
    ("/approvals/logout", logout, ["POST"]),
    ("/approvals", signed_in(inbox), ["GET", "HEAD"]),
    ("/approvals/{requestId:approvalid}", signed_in(one), ["GET", "HEAD"]),
    ("/approvals/{requestId:approvalid}/approve", signed_in(_decision(True)), ["POST"]),
    ("/approvals/{requestId:approvalid}/deny", signed_in(_decision(False)), ["POST"]),
)
for _path, _endpoint, _methods in _ROUTES:
    router.add_route(_path, _endpoint, methods=_methods, include_in_schema=False)
