"""The approvals page's HTML: server-rendered, every value escaped (``html.escape``),
no script. Each form carries the session's synchronizer token and, for a decision,
the request's digest: the approval covers exactly what the page showed."""

from __future__ import annotations

from collections.abc import Iterable
from html import escape

from strongroom.approvals.contract import RequestStatus, RequestView

STYLE = (
    "body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:60rem;padding:0 1rem;"
    "color:#1d2330}table{border-collapse:collapse}td,th{border:1px solid #ccd;"
    "padding:.3rem .5rem;text-align:left;vertical-align:top}.msg{padding:.6rem;"
    "background:#fdecea;border:1px solid #e0a2a0}.ok{background:#e8f5e9;border-color:#9c9}"
    "form.decide{display:inline-block;margin:.5rem 1rem .5rem 0}label{display:block}"
)


def e(value: object) -> str:
    return escape(str(value), quote=True)


def page(title: str, body: str, who: str | None = None, csrf: str | None = None) -> str:
    head = ""
    if who is not None and csrf is not None:
        head = (
            f'<header><p>Signed in as <span id="who">{e(who)}</span></p>'
            '<form method="post" action="/approvals/logout">'
            f'<input type="hidden" name="csrf" value="{e(csrf)}">'
            '<button id="logout" type="submit">Sign out</button></form></header>'
        )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="robots" content="noindex, nofollow">'
        f'<link rel="stylesheet" href="/approvals/page.css"><title>{e(title)}</title></head>'
        f"<body>{head}<main><h1>{e(title)}</h1>{body}</main></body></html>"
    )


def message(text: str | None, ok: bool = False) -> str:
    if not text:
        return ""
    cls = "msg ok" if ok else "msg"
    return f'<p id="message" class="{cls}" role="status">{e(text)}</p>'


def login(token: str, next_url: str, error: str | None = None) -> str:
    body = (
        message(error) + '<form method="post" action="/approvals/login" autocomplete="off">'
        f'<input type="hidden" name="csrf" value="{e(token)}">'
        f'<input type="hidden" name="next" value="{e(next_url)}">'
        '<label for="credential">Access key or OIDC access token</label>'
        '<input id="credential" name="credential" type="password" size="60" required>'
        '<button id="signin" type="submit">Sign in</button></form>'
    )
    return page("Approvals: sign in", body)


def _cells(v: RequestView) -> str:
    a = v.ask
    return "".join(
        f"<td>{x}</td>"
        for x in (
            f'<a href="/approvals/{e(v.request_id)}">{e(v.request_id[:8])}</a>',
            e(f"{a.tool.name} ({a.tool.client_id})"),
            e(f"{a.project}/{a.key}"),
            e(", ".join(a.hosts)),
            e(", ".join(a.methods)),
            e(f"{a.duration_seconds} s"),
            e(a.purpose),
            e(v.requester),
            e(v.score),
            _factors(v),
            e(v.policy_version),
        )
    )


_HEAD = (
    "<tr><th>Request</th><th>Tool</th><th>Key</th><th>Hosts</th><th>Methods</th>"
    "<th>Duration</th><th>Purpose</th><th>Requester</th><th>Score</th><th>Factors</th>"
    "<th>Policy</th></tr>"
)


def _factors(v: RequestView) -> str:
    rows = "".join(
        f'<li class="factor"><b>{e(f.name)}</b>: {e(f"{f.points:+d}")} — {e(f.why)}</li>'
        for f in v.factors
    )
    return f"<ul>{rows}</ul>"


def inbox(views: Iterable[RequestView], who: str, csrf: str, note: str | None) -> str:
    rows = "".join(f'<tr class="request" id="r-{e(v.request_id)}">{_cells(v)}</tr>' for v in views)
    table = f"<table>{_HEAD}{rows}</table>" if rows else '<p id="empty">Nothing is pending.</p>'
    return page("Approvals: pending requests", message(note) + table, who, csrf)


def _decide_forms(v: RequestView, csrf: str, digest: str) -> str:
    hidden = (
        f'<input type="hidden" name="csrf" value="{e(csrf)}">'
        f'<input type="hidden" name="digest" value="{e(digest)}">'
    )
    rid = e(v.request_id)
    return (
        f'<form class="decide" method="post" action="/approvals/{rid}/approve">{hidden}'
        '<label for="approve-reason">Reason (optional)</label>'
        '<input id="approve-reason" name="reason" maxlength="500">'
        '<button id="approve" type="submit">Approve</button></form>'
        f'<form class="decide" method="post" action="/approvals/{rid}/deny">{hidden}'
        '<label for="deny-reason">Reason (required)</label>'
        '<input id="deny-reason" name="reason" maxlength="500" required>'
        '<button id="deny" type="submit">Deny</button></form>'
    )


def detail(
    v: RequestView,
    digest: str,
    who: str,
    csrf: str,
    can_decide: bool,
    note: str | None = None,
    ok: bool = False,
) -> str:
    status = f'<p>Status: <b id="status">{e(v.status.value)}</b></p>'
    table = f'<table>{_HEAD}<tr class="request">{_cells(v)}</tr></table>'
    covers = f'<p>The decision covers digest <code id="digest">{e(digest)}</code>.</p>'
    forms = ""
    if can_decide and v.status is RequestStatus.PENDING:
        forms = covers + _decide_forms(v, csrf, digest)
    back = '<p><a href="/approvals">All pending requests</a></p>'
    return page(
        "Approvals: access request", message(note, ok) + status + table + forms + back, who, csrf
    )
