"""Two replicas of the approvals page on ONE database (SQLite file and PostgreSQL
under row-level security) act as one (issue #19): a sign-in on replica A is honoured
by replica B with the same cookie and CSRF token, a logout on B ends the session on
A at once, and an expired session is refused by both. Each replica is its own app
with its own services (own pools, own caches), as two processes behind the Compose
load balancer are."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import func, select, update

from strongroom.access.models import Principal
from strongroom.access.page_sessions import digest, principal_doc, principal_of
from strongroom.access.rbac import Grant, Scope
from strongroom.api.app import create_app
from strongroom.services.container import build_services
from strongroom.store.models import ApprovalPageSession
from tests.api.conftest import App
from tests.api.test_approvals_page import CSRF, DIGEST, OWN, _login, _setup, _status

COOKIE = "sr-approvals"


@pytest.fixture
async def replica_b(app: App) -> AsyncIterator[httpx.AsyncClient]:
    """A second app with services of its own on the same database as ``app``."""
    services = build_services(app.settings)
    await services.start()
    transport = httpx.ASGITransport(
        app=create_app(app.settings, services), client=("203.0.113.8", 4243)
    )
    async with httpx.AsyncClient(transport=transport, base_url=OWN) as client:
        yield client
    await services.close()


async def _rows(app: App) -> int:
    async with app.services.db.read() as s:
        return int(
            (await s.execute(select(func.count()).select_from(ApprovalPageSession))).scalar_one()
        )


async def test_a_sign_in_on_a_serves_b_and_a_logout_on_b_ends_it_on_a(
    app: App, replica_b: httpx.AsyncClient
) -> None:
    _, approver, req = await _setup(app)
    assert (await _login(app, approver)).status_code == 303
    sid = app.client.cookies[COOKIE]
    # The store keeps only the id's SHA-256 and never the credential.
    async with app.services.db.read() as s:
        row = (await s.execute(select(ApprovalPageSession))).scalar_one()
    assert row.session_hash == digest(sid) and sid not in str(row.principal)
    assert approver not in str(row.principal) and row.tenant_id == "default"
    token_a = CSRF.search((await app.client.get("/approvals")).text)
    assert token_a
    replica_b.cookies.set(COOKIE, sid)
    inbox = await replica_b.get("/approvals")
    assert inbox.status_code == 200 and req["id"] in inbox.text, inbox.text
    page = (await replica_b.get(f"/approvals/{req['id']}")).text
    token_b, found = CSRF.search(page), DIGEST.search(page)
    assert token_b and found and token_b.group(1) == token_a.group(1)  # one session
    form = {"csrf": token_a.group(1), "digest": found.group(1), "reason": "looks right"}
    r = await replica_b.post(f"/approvals/{req['id']}/approve", data=form, headers={"Origin": OWN})
    assert r.status_code == 303, r.text
    assert await _status(app, req["id"]) == "approved"
    out = await replica_b.post(
        "/approvals/logout", data={"csrf": token_a.group(1)}, headers={"Origin": OWN}
    )
    assert out.status_code == 303 and out.headers["location"] == "/approvals/login"
    assert await _rows(app) == 0
    for client in (app.client, replica_b):
        client.cookies.set(COOKIE, sid)
        r = await client.get("/approvals")
        assert r.status_code == 303 and r.headers["location"].startswith("/approvals/login")


async def test_an_expired_session_is_refused_by_both_and_purged(
    app: App, replica_b: httpx.AsyncClient
) -> None:
    _, approver, _ = await _setup(app)
    assert (await _login(app, approver)).status_code == 303
    sid = app.client.cookies[COOKIE]
    replica_b.cookies.set(COOKIE, sid)
    assert (await replica_b.get("/approvals")).status_code == 200
    past = datetime.now(UTC) - timedelta(seconds=1)
    async with app.services.db.transaction() as s:
        await s.execute(update(ApprovalPageSession).values(expires_at=past))
    for client in (app.client, replica_b):
        r = await client.get("/approvals")
        assert r.status_code == 303 and r.headers["location"].startswith("/approvals/login")
    # The next sign-in (on B) deletes the expired row; the scheduler's job does too.
    page = await replica_b.get("/approvals/login")
    token = CSRF.search(page.text)
    assert token
    r = await replica_b.post(
        "/approvals/login",
        data={"csrf": token.group(1), "next": "/approvals", "credential": approver},
        headers={"Origin": OWN},
    )
    assert r.status_code == 303 and await _rows(app) == 1
    assert await app.services.page_sessions.purge(datetime.now(UTC) + timedelta(hours=1)) == 1
    assert await _rows(app) == 0


def test_a_principal_reloads_with_the_same_authority() -> None:
    """What another replica rebuilds from the row: equal, grants included (custom
    roles' grants are not re-read), own key and client kept."""
    grants = frozenset(
        {Grant("mcp:requests:*", Scope.TENANT), Grant("keys:read", Scope.OWN, "app-*")}
    )
    for p in (
        Principal("oidc:https://idp#alice", "t1", ("custom-approver",), grants, "alice", "cli"),
        Principal("ak_1", "default", ("mcp-approver",)),
        Principal("ops", "default", ("admin", "unknown-role"), own_key=""),
    ):
        back = principal_of(json.loads(json.dumps(principal_doc(p))))
        assert back == p and back.grants == p.grants and back.client_id == p.client_id
