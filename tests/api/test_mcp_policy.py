"""The tenant's MCP approvals policy over REST (``/api/v1/mcp/policy``): read (version
0 is the configured default), change with check-and-set, list the history; a request
made after a change is scored under the new version. Bad input names its field and
changes nothing; another tenant's policy is never touched."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select

from strongroom.approvals.models import Policy
from strongroom.approvals.policy import check
from strongroom.errors import InvalidInput
from strongroom.store.models import AuditRecord
from tests.api.access_helpers import issue
from tests.api.approvals_helpers import ADMIN, SCHEMA_SHA, Facts, approved_tool, wire
from tests.api.conftest import App

POLICY = "/api/v1/mcp/policy"


async def _as(app: App, key: str, method: str, path: str, body: Any = None) -> httpx.Response:
    kw: dict[str, Any] = {"headers": {"X-API-Key": key}}
    if body is not None:
        kw["json"] = body
    return await app.client.request(method, path, **kw)


def _ask() -> dict[str, Any]:
    return {
        "tool": {"name": "fetcher", "clientId": "client-1", "schemaSha256": SCHEMA_SHA},
        "project": "payments",
        "key": "stripe",
        "hosts": ["api.example.com"],
        "methods": ["GET"],
        "durationSeconds": 300,
        "purpose": "read invoices",
    }


async def test_a_change_scores_later_requests_under_the_new_version(app: App) -> None:
    approvals, _ = wire(app, Facts())
    await approved_tool(approvals)
    agent = (await issue(app, ["mcp-agent"]))["key"]
    shown = (await _as(app, app.admin_key, "GET", POLICY)).json()
    assert (shown["version"], shown["createdAt"], shown["createdBy"]) == (0, None, None)
    assert shown["threshold"] == app.settings.approvals.threshold
    # Tools are never new, the rest as configured: version 1.
    r = await _as(app, app.admin_key, "PUT", POLICY, {"newToolSeconds": 0, "expectedVersion": 0})
    assert r.status_code == 200, r.text
    one = r.json()
    assert (one["version"], one["newToolSeconds"]) == (1, 0)
    assert {k: v for k, v in one.items() if k not in ("version", "newToolSeconds")} | {
        "createdAt": None,
        "createdBy": None,
    } == {k: v for k, v in shown.items() if k not in ("version", "newToolSeconds")}
    assert one["createdAt"] is not None and one["createdBy"]
    low = (await _as(app, agent, "POST", "/api/v1/mcp/requests", _ask())).json()
    assert (low["status"], low["policyVersion"]) == ("approved", 1)
    # Threshold 0: every request waits for a human, scored under version 2.
    two = await _as(app, app.admin_key, "PUT", POLICY, {"threshold": 0, "expectedVersion": 1})
    assert (two.json()["version"], two.json()["newToolSeconds"]) == (2, 0)
    again = (await _as(app, agent, "POST", "/api/v1/mcp/requests", _ask())).json()
    assert (again["status"], again["policyVersion"]) == ("pending", 2)
    assert again["score"] == low["score"]  # same ask: only the policy changed
    assert (await _as(app, app.admin_key, "GET", POLICY)).json() == two.json()
    async with app.services.db.read() as s:
        q = select(AuditRecord).where(AuditRecord.action == "mcp.policy.write")
        writes = list((await s.execute(q)).scalars())
    assert [(w.target, (w.detail or {}).get("threshold")) for w in writes] == [
        ("1", shown["threshold"]),
        ("2", 0),
    ]


async def test_a_stale_expected_version_is_refused(app: App) -> None:
    first = await _as(app, app.admin_key, "PUT", POLICY, {"threshold": 20})
    assert first.json()["version"] == 1
    # Two admins read version 1; the first to write wins, the second gets 409.
    won = await _as(app, app.admin_key, "PUT", POLICY, {"threshold": 25, "expectedVersion": 1})
    lost = await _as(app, app.admin_key, "PUT", POLICY, {"threshold": 40, "expectedVersion": 1})
    assert won.json()["version"] == 2
    assert (lost.status_code, lost.json()["error"]["code"]) == (409, "APR020")
    now = (await _as(app, app.admin_key, "GET", POLICY)).json()
    assert (now["version"], now["threshold"]) == (2, 25)


async def test_bad_input_names_its_field_and_changes_nothing(app: App) -> None:
    await _as(app, app.admin_key, "PUT", POLICY, {"threshold": 20})
    cases: list[tuple[dict[str, Any], str]] = [
        ({"threshold": 102}, "threshold"),
        ({"threshold": -1}, "threshold"),
        ({"durationCapSeconds": 59}, "durationCapSeconds"),
        ({"pendingExpirySeconds": 31 * 86400}, "pendingExpirySeconds"),
        ({"newToolSeconds": 2**31}, "newToolSeconds"),
        ({"threshold": "5"}, "threshold"),
        ({"threshold": 2.5}, "threshold"),
        ({"secondApprover": 1}, "secondApprover"),
        ({"threshhold": 5}, "threshhold"),
        ({"expectedVersion": -1}, "expectedVersion"),
    ]
    for body, field in cases:
        r = await _as(app, app.admin_key, "PUT", POLICY, body)
        assert (r.status_code, r.json()["error"]["code"]) == (400, "ENC001"), body
        locs = [e["loc"] for e in r.json()["error"]["details"]["errors"]]
        assert ["body", field] in locs, (body, locs)
    # Each bound alone holds; the hours together must not: the domain names the field.
    r = await _as(
        app, app.admin_key, "PUT", POLICY, {"businessStartHour": 18, "businessEndHour": 8}
    )
    assert (r.status_code, r.json()["error"]["details"]["field"]) == (400, "businessEndHour")
    r = await _as(app, app.admin_key, "PUT", POLICY, {"businessStartHour": 19})  # end is 18
    assert r.json()["error"]["details"]["field"] == "businessEndHour"
    assert (await _as(app, app.admin_key, "GET", POLICY)).json()["version"] == 1
    r = await app.client.put(POLICY, content=b"[1]", headers=app.headers)
    assert r.status_code == 400


async def test_permissions(app: App) -> None:
    approver = (await issue(app, ["mcp-approver"]))["key"]
    agent = (await issue(app, ["mcp-agent"]))["key"]
    assert (await _as(app, approver, "GET", POLICY)).status_code == 200
    assert (await _as(app, approver, "GET", POLICY + "/versions")).status_code == 200
    denied = await _as(app, approver, "PUT", POLICY, {"threshold": 0})
    assert (denied.status_code, denied.json()["error"]["code"]) == (403, "AUTH002")
    for method, body in (("GET", None), ("PUT", {"threshold": 0})):
        assert (await _as(app, agent, method, POLICY, body)).status_code == 403
    assert (await _as(app, agent, "GET", POLICY + "/versions")).status_code == 403
    assert (await app.client.get(POLICY)).status_code == 401
    assert (await _as(app, approver, "GET", POLICY)).json()["version"] == 0
    # Reads leave a record (api.read) naming the permission.
    async with app.services.db.read() as s:
        q = select(AuditRecord).where(AuditRecord.action == "api.read")
        reads = [(r.detail or {}) for r in (await s.execute(q)).scalars()]
    assert {"permission": "mcp-policy:read", "route": POLICY} in [
        {k: d.get(k) for k in ("permission", "route")} for d in reads
    ]


async def test_history_newest_first_in_pages(app: App) -> None:
    for threshold in (10, 20, 30):
        assert (await _as(app, app.admin_key, "PUT", POLICY, {"threshold": threshold})).is_success
    page = (await _as(app, app.admin_key, "GET", POLICY + "/versions")).json()
    assert [(v["version"], v["threshold"]) for v in page["versions"]] == [(3, 30), (2, 20), (1, 10)]
    assert page["nextCursor"] is None
    first = (await _as(app, app.admin_key, "GET", POLICY + "/versions?limit=2")).json()
    assert ([v["version"] for v in first["versions"]], first["nextCursor"]) == ([3, 2], 2)
    url = f"{POLICY}/versions?limit=2&cursor={first['nextCursor']}"
    rest = (await _as(app, app.admin_key, "GET", url)).json()
    assert ([v["version"] for v in rest["versions"]], rest["nextCursor"]) == ([1], None)


async def test_tenants_are_isolated(app: App) -> None:
    _, acme = await app.services.access.create("acme", ["admin"], "acme admin")
    assert (await _as(app, app.admin_key, "PUT", POLICY, {"threshold": 5})).json()["version"] == 1
    theirs = (await _as(app, acme, "GET", POLICY)).json()
    assert (theirs["version"], theirs["threshold"]) == (0, app.settings.approvals.threshold)
    assert (await _as(app, acme, "GET", POLICY + "/versions")).json()["versions"] == []
    # acme's own version 1 does not conflict with the default tenant's.
    mine = await _as(app, acme, "PUT", POLICY, {"threshold": 50, "expectedVersion": 0})
    assert (mine.json()["version"], mine.json()["threshold"]) == (1, 50)
    ours = (await _as(app, app.admin_key, "GET", POLICY)).json()
    assert (ours["version"], ours["threshold"]) == (1, 5)
    listed = (await _as(app, app.admin_key, "GET", POLICY + "/versions")).json()["versions"]
    assert [(v["version"], v["threshold"]) for v in listed] == [(1, 5)]


async def test_the_domain_names_the_field(app: App) -> None:
    """The checks behind every edge (the CLI calls the domain directly)."""
    policies = app.services.approvals.policies
    with pytest.raises(InvalidInput) as out:
        check(Policy(threshold=200))
    assert out.value.detail == {"field": "threshold", "minimum": 0, "maximum": 101}
    with pytest.raises(InvalidInput) as out:
        await policies.change(ADMIN, {"sessionMaxSeconds": 30})
    assert out.value.detail["field"] == "sessionMaxSeconds"
    with pytest.raises(InvalidInput) as out:
        await policies.change(ADMIN, {"threshhold": 5})
    assert out.value.detail == {"field": "threshhold"}
    with pytest.raises(InvalidInput) as out:
        await policies.change(ADMIN, {"threshold": True})
    assert out.value.detail["field"] == "threshold"
    assert (await policies.show("default")).policy.version == 0
