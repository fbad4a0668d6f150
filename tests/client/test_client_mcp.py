"""MCP approvals through the client (``sr.mcp``), sync and async, against a real
service: the tool registry, an access request, the tenant's policy and the server's
refusals as typed errors."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from strongroom_client.errors import (
    AccessRequestNotFoundError,
    InvalidInputError,
    PolicyVersionChangedError,
    SelfApprovalError,
    SessionNotFoundError,
    ToolNotApprovedError,
    ToolNotRegisteredError,
)

SCHEMA = {"type": "object", "properties": {"q": {"type": "string"}}}


async def test_mcp_through_the_client(sr: Any) -> None:
    name = f"sdk-{uuid.uuid4().hex[:8]}"
    tool = await sr.mcp.register_tool(
        name, "sdk", ["api.example.com"], ["GET"], input_schema=SCHEMA
    )
    assert tool["status"] == "pending"
    assert (await sr.mcp.approve_tool(tool["id"]))["status"] == "approved"
    assert (await sr.mcp.get_tool(tool["id"]))["name"] == name
    assert name in [t["name"] for t in (await sr.mcp.list_tools(limit=500))["tools"]]
    ref = {"name": name, "clientId": "sdk", "schemaSha256": tool["schemaSha256"]}
    await sr.projects.create(name)  # a stored key to ask for (its value never comes back)
    await sr.api_keys.create(name, "k", "sk_canary_sdk", hosts=["api.example.com"])
    asked = await sr.mcp.request_access(ref, name, "k", ["api.example.com"], ["GET"], 300, "sdk")
    # A tool approved just now is new: a human decides, and never the requester.
    assert asked["status"] == "pending"
    assert (await sr.mcp.get_request(asked["id"]))["digest"] == asked["digest"]
    assert asked["id"] in [r["id"] for r in (await sr.mcp.list_requests())["requests"]]
    with pytest.raises(SelfApprovalError):
        await sr.mcp.approve_request(asked["id"], asked["digest"])
    with pytest.raises(SelfApprovalError):
        await sr.mcp.deny_request(asked["id"], asked["digest"], "no")
    with pytest.raises(AccessRequestNotFoundError):
        await sr.mcp.get_request("0" * 32)
    with pytest.raises(SessionNotFoundError):
        await sr.mcp.revoke_session("0" * 32)
    await sr.mcp.suspend_tool(tool["id"])
    with pytest.raises(ToolNotApprovedError):
        await sr.mcp.request_access(ref, name, "k", ["api.example.com"], ["GET"], 300, "sdk")
    with pytest.raises(ToolNotRegisteredError):
        await sr.mcp.request_access(
            {**ref, "name": "nobody"}, name, "k", ["api.example.com"], ["GET"], 300, "x"
        )


async def test_the_policy_through_the_client(sr: Any) -> None:
    before = await sr.mcp.policy()
    v = before["version"]
    changed = await sr.mcp.set_policy(threshold=7, second_approver=True, expected_version=v)
    assert (changed["version"], changed["threshold"], changed["secondApprover"]) == (v + 1, 7, True)
    assert changed["durationCapSeconds"] == before["durationCapSeconds"]
    assert (await sr.mcp.policy()) == changed
    with pytest.raises(PolicyVersionChangedError):  # APR020: someone wrote since version v
        await sr.mcp.set_policy(threshold=8, expected_version=v)
    with pytest.raises(InvalidInputError) as bad:
        await sr.mcp.set_policy(threshold=500)
    assert ["body", "threshold"] in [e["loc"] for e in bad.value.details["errors"]]
    page = await sr.mcp.policy_versions(limit=1)
    assert [p["version"] for p in page["versions"]] == [v + 1]
    assert page["nextCursor"] == (v + 1 if v >= 1 else None)
    # Put the values back (the service is shared with the other client tests).
    fields = {k: before[k] for k in ("threshold", "secondApprover")}
    restored = await sr.mcp.set_policy(
        threshold=fields["threshold"], second_approver=fields["secondApprover"]
    )
    assert restored["version"] == v + 2
