"""MCP access for AI agents (docs/approvals.md): the tool registry, access requests
and their human decisions, session revocation, the tenant's versioned policy. A
decision names the request's ``digest`` (in every request answer): it covers exactly
what was asked."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from strongroom_client._async.resource import AsyncResource
from strongroom_client._core import Request

_BASE = "/api/v1/mcp"


class AsyncMcp(AsyncResource):
    async def _call(self, method: str, path: str, **kw: Any) -> dict[str, Any]:
        answer: dict[str, Any] = await self._t.call(Request(method, _BASE + path, **kw))
        return answer

    # tools ---------------------------------------------------------------
    async def register_tool(
        self,
        name: str,
        client_id: str,
        hosts: Sequence[str],
        methods: Sequence[str],
        *,
        schema_sha256: str | None = None,
        input_schema: dict[str, Any] | None = None,
        tier: str = "standard",
        annotations: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Register a tool (pending until approved); give its input schema or its hash."""
        body: dict[str, Any] = {
            "name": name,
            "clientId": client_id,
            "hosts": list(hosts),
            "methods": list(methods),
            "tier": tier,
        }
        if schema_sha256 is not None:
            body["schemaSha256"] = schema_sha256
        if input_schema is not None:
            body["inputSchema"] = input_schema
        if annotations is not None:
            body["annotations"] = annotations
        return await self._call("POST", "/tools", json=body)

    async def list_tools(
        self, limit: int | None = None, cursor: int | None = None
    ) -> dict[str, Any]:
        """One page: ``{"tools": [...], "nextCursor"}``."""
        params = {"limit": limit, "cursor": cursor}
        return await self._call("GET", "/tools", params=params, idempotent=True)

    async def get_tool(self, tool_id: int) -> dict[str, Any]:
        return await self._call(
            "GET", "/tools/{toolId}", path_params={"toolId": str(tool_id)}, idempotent=True
        )

    async def approve_tool(self, tool_id: int, schema_sha256: str | None = None) -> dict[str, Any]:
        """Approve, or re-approve after a schema change pinning ``schema_sha256``."""
        body = {"schemaSha256": schema_sha256} if schema_sha256 is not None else {}
        return await self._call(
            "POST", "/tools/{toolId}/approve", path_params={"toolId": str(tool_id)}, json=body
        )

    async def suspend_tool(self, tool_id: int) -> dict[str, Any]:
        return await self._call(
            "POST", "/tools/{toolId}/suspend", path_params={"toolId": str(tool_id)}, idempotent=True
        )

    # requests ------------------------------------------------------------
    async def request_access(
        self,
        tool: dict[str, str],
        project: str,
        key: str,
        hosts: Sequence[str],
        methods: Sequence[str],
        duration_seconds: int,
        purpose: str,
    ) -> dict[str, Any]:
        """Ask for a stored key (``tool``: name, clientId, schemaSha256): the request,
        scored; ``status`` approved at once or pending (``approvalUrl``)."""
        body = {
            "tool": dict(tool),
            "project": project,
            "key": key,
            "hosts": list(hosts),
            "methods": list(methods),
            "durationSeconds": duration_seconds,
            "purpose": purpose,
        }
        return await self._call("POST", "/requests", json=body)

    async def list_requests(
        self, limit: int | None = None, cursor: str | None = None
    ) -> dict[str, Any]:
        """Pending requests: ``{"requests": [...], "nextCursor"}``."""
        params = {"limit": limit, "cursor": cursor}
        return await self._call("GET", "/requests", params=params, idempotent=True)

    async def get_request(self, request_id: str) -> dict[str, Any]:
        return await self._call(
            "GET", "/requests/{requestId}", path_params={"requestId": request_id}, idempotent=True
        )

    async def approve_request(
        self, request_id: str, digest: str, reason: str = ""
    ) -> dict[str, Any]:
        """Approve exactly what ``digest`` covers (never one's own request)."""
        body = {"digest": digest, "reason": reason}
        return await self._call(
            "POST",
            "/requests/{requestId}/approve",
            path_params={"requestId": request_id},
            json=body,
        )

    async def deny_request(self, request_id: str, digest: str, reason: str) -> dict[str, Any]:
        body = {"digest": digest, "reason": reason}
        return await self._call(
            "POST", "/requests/{requestId}/deny", path_params={"requestId": request_id}, json=body
        )

    # sessions ------------------------------------------------------------
    async def revoke_session(self, session_id: str) -> dict[str, Any]:
        """End a session and its proxy token now (idempotent)."""
        return await self._call(
            "POST",
            "/sessions/{sessionId}/revoke",
            path_params={"sessionId": session_id},
            idempotent=True,
        )

    # policy --------------------------------------------------------------
    async def policy(self) -> dict[str, Any]:
        """The policy new requests are scored under (``version`` 0: the configured
        default, ``createdAt`` and ``createdBy`` null)."""
        return await self._call("GET", "/policy", idempotent=True)

    async def set_policy(
        self,
        *,
        threshold: int | None = None,
        duration_cap_seconds: int | None = None,
        second_approver: bool | None = None,
        pending_expiry_seconds: int | None = None,
        session_max_seconds: int | None = None,
        business_start_hour: int | None = None,
        business_end_hour: int | None = None,
        new_tool_seconds: int | None = None,
        expected_version: int | None = None,
    ) -> dict[str, Any]:
        """Store the next version: the fields given, the current values for the rest.
        ``expected_version``: only if it is still current, else ``RotationInProgressError``
        (``PolicyVersionChangedError``, APR020, 409; never retried here: read the policy again)."""
        given = {
            "threshold": threshold,
            "durationCapSeconds": duration_cap_seconds,
            "secondApprover": second_approver,
            "pendingExpirySeconds": pending_expiry_seconds,
            "sessionMaxSeconds": session_max_seconds,
            "businessStartHour": business_start_hour,
            "businessEndHour": business_end_hour,
            "newToolSeconds": new_tool_seconds,
            "expectedVersion": expected_version,
        }
        body = {k: v for k, v in given.items() if v is not None}
        return await self._call("PUT", "/policy", json=body)

    async def policy_versions(
        self, limit: int | None = None, cursor: int | None = None
    ) -> dict[str, Any]:
        """Stored versions, newest first: ``{"versions": [...], "nextCursor"}``."""
        params = {"limit": limit, "cursor": cursor}
        return await self._call("GET", "/policy/versions", params=params, idempotent=True)
