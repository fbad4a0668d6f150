"""The approvals page through the ASGI stack: sign-in by form (never a URL), a
session cookie that carries no credential, CSRF (synchronizer token + Origin),
anti-framing and no-store headers on every answer, refusals as readable messages with
state unchanged, and no access key or session secret in any page, log or audit record."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from strongroom.store.models import AuditRecord
from tests.api.access_helpers import issue
from tests.api.approvals_helpers import SCHEMA, Facts, policy, wire
from tests.api.conftest import App
from tests.api.test_mcp_api import _ask, _tool

OWN = "http://strongroom"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
DIGEST = re.compile(r'name="digest" value="([0-9a-f]{64})"')
assert SCHEMA


async def _pending(app: App, agent: str) -> dict[str, Any]:
    r = await app.client.post(
        "/api/v1/mcp/requests", json=_ask("prod", methods=["POST"]), headers={"X-API-Key": agent}
    )
    assert r.status_code == 201 and r.json()["status"] == "pending", r.text
    return dict(r.json())


async def _setup(app: App) -> tuple[str, str, dict[str, Any]]:
    """(agent key, approver key, a pending request of the agent)."""
    approvals, _ = wire(app, Facts({"prod": "high"}))
    await policy(approvals)
    await _tool(app)
    agent = (await issue(app, ["mcp-agent", "mcp-approver"]))["key"]
    approver = (await issue(app, ["mcp-approver"]))["key"]
    return agent, approver, await _pending(app, agent)


async def _login(app: App, credential: str, nxt: str = "/approvals") -> httpx.Response:
    app.client.cookies.clear()
    form = await app.client.get(f"/approvals/login?next={nxt}")
    token = CSRF.search(form.text)
    assert token, form.text
    return await app.client.post(
        "/approvals/login",
        data={"csrf": token.group(1), "next": nxt, "credential": credential},
        headers={"Origin": OWN},
    )


async def _status(app: App, rid: str) -> str:
    r = await app.client.get(f"/api/v1/mcp/requests/{rid}", headers=app.headers)
    return str(r.json()["status"])


def _secure_headers(r: httpx.Response) -> None:
    h = r.headers
    assert h["x-frame-options"] == "DENY"
    csp = h["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp
    assert "script-src 'none'" in csp and "unsafe-inline" not in csp
    assert h["cache-control"] == "no-store"
    assert h["referrer-policy"] == "same-origin"  # never leaves the origin


async def test_signed_out_goes_to_login_and_every_answer_has_the_headers(app: App) -> None:
    _, approver, req = await _setup(app)
    app.client.cookies.clear()
    for path in ("/approvals", f"/approvals/{req['id']}"):
        r = await app.client.get(path)
        assert r.status_code == 303 and r.headers["location"].startswith("/approvals/login")
        _secure_headers(r)
    r = await app.client.get(f"/approvals/{req['id']}")
    assert r.headers["location"] == f"/approvals/login?next=/approvals/{req['id']}"
    login_page = await app.client.get("/approvals/login")
    _secure_headers(login_page)
    assert 'type="password"' in login_page.text and "<script" not in login_page.text
    signed = await _login(app, approver, f"/approvals/{req['id']}")
    assert signed.status_code == 303 and signed.headers["location"] == f"/approvals/{req['id']}"
    _secure_headers(signed)
    cookie = signed.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "max-age=900" in cookie
    for path in ("/approvals", f"/approvals/{req['id']}", "/approvals/page.css"):
        r = await app.client.get(path)
        assert r.status_code == 200, r.text
        _secure_headers(r)
    inbox = (await app.client.get("/approvals")).text
    assert req["id"] in inbox and "read invoices" in inbox
    for f in req["factors"]:  # every factor's contribution
        assert f["name"] in inbox and f"{f['points']:+d}" in inbox
    assert f"<td>{req['score']}</td>" in inbox


async def test_a_wrong_key_signs_nobody_in(app: App) -> None:
    await _setup(app)
    r = await _login(app, "sr_not-a-key")
    assert r.status_code == 401 and "Sign-in failed." in r.text
    assert (await app.client.get("/approvals")).status_code == 303
    _secure_headers(r)


async def test_csrf_and_origin_are_checked(app: App) -> None:
    _, approver, req = await _setup(app)
    assert (await _login(app, approver)).status_code == 303
    page = (await app.client.get(f"/approvals/{req['id']}")).text
    token, digest = CSRF.search(page), DIGEST.search(page)
    assert token and digest
    url = f"/approvals/{req['id']}/approve"
    good = {"csrf": token.group(1), "digest": digest.group(1), "reason": "ok"}
    for data, origin in (
        ({k: v for k, v in good.items() if k != "csrf"}, OWN),  # no token
        ({**good, "csrf": "x" * len(token.group(1))}, OWN),  # a wrong token
        (good, "https://evil.example"),  # another origin
        (good, None),  # neither Origin nor Referer
    ):
        headers = {"Origin": origin} if origin else {}
        r = await app.client.post(url, data=data, headers=headers)
        assert r.status_code == 403, r.text
        _secure_headers(r)
        assert await _status(app, req["id"]) == "pending"
    r = await app.client.post(url, data=good, headers={"Referer": f"{OWN}/approvals"})
    assert r.status_code == 303 and await _status(app, req["id"]) == "approved"
    # Sign-in itself: without the pre-login token, or from another origin.
    app.client.cookies.clear()
    r = await app.client.post("/approvals/login", data={"credential": approver})
    assert r.status_code == 403
    assert (await app.client.get("/approvals")).status_code == 303


async def test_refusals_are_messages_and_change_nothing(app: App) -> None:
    agent, approver, req = await _setup(app)
    assert (await _login(app, agent)).status_code == 303
    page = (await app.client.get(f"/approvals/{req['id']}")).text
    token, digest = CSRF.search(page), DIGEST.search(page)
    assert token and digest
    data = {"csrf": token.group(1), "digest": digest.group(1), "reason": "mine"}
    url = f"/approvals/{req['id']}/approve"
    r = await app.client.post(url, data=data, headers={"Origin": OWN})
    assert r.status_code == 403 and "APR007" in r.text and "own request" in r.text
    _secure_headers(r)
    assert await _status(app, req["id"]) == "pending"
    assert (await _login(app, approver)).status_code == 303
    page = (await app.client.get(f"/approvals/{req['id']}")).text
    token = CSRF.search(page)
    assert token
    deny = f"/approvals/{req['id']}/deny"
    data = {"csrf": token.group(1), "digest": digest.group(1), "reason": " "}
    r = await app.client.post(deny, data=data, headers={"Origin": OWN})
    assert r.status_code == 422 and "needs a reason" in r.text
    data = {**data, "reason": "ok", "digest": "0" * 64}
    r = await app.client.post(deny, data=data, headers={"Origin": OWN})
    assert r.status_code == 409 and "APR008" in r.text
    assert await _status(app, req["id"]) == "pending"
    data = {**data, "reason": "not now", "digest": digest.group(1)}
    r = await app.client.post(deny, data=data, headers={"Origin": OWN})
    assert r.status_code == 303 and await _status(app, req["id"]) == "denied"
    r = await app.client.post(deny, data=data, headers={"Origin": OWN})
    assert r.status_code == 409 and "APR006" in r.text


async def test_an_agent_without_approve_sees_no_forms(app: App) -> None:
    approvals, _ = wire(app, Facts({"prod": "high"}))
    await policy(approvals)
    await _tool(app)
    agent = (await issue(app, ["mcp-agent"]))["key"]
    req = await _pending(app, agent)
    assert (await _login(app, agent)).status_code == 303
    page = (await app.client.get(f"/approvals/{req['id']}")).text
    assert 'id="approve"' not in page and req["id"] in page
    token = CSRF.search(page)
    assert token
    data = {"csrf": token.group(1), "digest": req["digest"], "reason": "x"}
    r = await app.client.post(f"/approvals/{req['id']}/approve", data=data, headers={"Origin": OWN})
    assert r.status_code == 403 and await _status(app, req["id"]) == "pending"


async def test_no_credential_or_session_secret_leaks(
    app: App, caplog: pytest.LogCaptureFixture
) -> None:
    _, approver, req = await _setup(app)
    signed = await _login(app, approver)
    sid = signed.cookies.get("sr-approvals")
    assert sid and approver not in signed.headers["set-cookie"]
    pages = [(await app.client.get(p)).text for p in ("/approvals", f"/approvals/{req['id']}")]
    token = CSRF.search(pages[1])
    assert token
    r = await app.client.post(
        "/approvals/logout", data={"csrf": token.group(1)}, headers={"Origin": OWN}
    )
    assert r.status_code == 303
    app.client.cookies.set("sr-approvals", sid)  # a closed session opens nothing
    assert (await app.client.get("/approvals")).status_code == 303
    async with app.services.db.read() as s:
        rows = (await s.execute(select(AuditRecord))).scalars().all()
    records = " ".join(repr(vars(row)) for row in rows)
    assert "mcp.approvals.login" in records and "mcp.approvals.logout" in records
    for canary in (approver, sid, token.group(1)):
        assert canary not in records
        assert canary not in caplog.text
    for page in pages:  # the synchronizer token is meant to be in them; nothing else
        assert approver not in page and sid not in page
