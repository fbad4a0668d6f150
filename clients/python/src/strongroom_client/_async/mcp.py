"""MCP access for AI agents (docs/approvals.md): the tool registry, access requests
and their human decisions, session revocation. A decision names the request's
``digest`` (in every request answer): it covers exactly what was asked."""

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
