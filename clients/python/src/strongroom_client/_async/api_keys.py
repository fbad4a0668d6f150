"""Projects and stored third-party API keys (docs/credentials.md). A key's value is
write-only: only ``reveal`` returns it (as a ``Secret``, masked in ``repr``), and only
to a caller with an explicit ``api-keys:reveal`` grant."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from strongroom_client._async.resource import AsyncResource
from strongroom_client._core import Request
from strongroom_client._secret import Secret

_PROJECTS = "/api/v1/projects"
_PROJECT = _PROJECTS + "/{project}"
_KEYS = _PROJECT + "/api-keys"
_KEY = _KEYS + "/{key}"


def _where(project: str, key: str | None = None) -> dict[str, str]:
    return {"project": project} if key is None else {"project": project, "key": key}


def _settings(
    hosts: Sequence[str] | None,
    allowed_networks: Sequence[str] | None,
    injection: Mapping[str, str] | None,
    expires_at: datetime | None,
    rotate_after_days: int | None,
    rotation_hook: str | None,
    owners: Sequence[str] | None,
    tags: Mapping[str, str] | None,
    sensitivity: str | None,
    provider: str | None,
) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if provider is not None:
        body["provider"] = provider
    if hosts is not None:
        body["hosts"] = list(hosts)
    if allowed_networks is not None:
        body["allowedNetworks"] = list(allowed_networks)
    if injection is not None:
        body["injection"] = dict(injection)
    if expires_at is not None:
        body["expiresAt"] = expires_at.isoformat()
    if rotate_after_days is not None:
        body["rotateAfterDays"] = rotate_after_days
    if rotation_hook is not None:
        body["rotationHook"] = rotation_hook
    if owners is not None:
        body["owners"] = list(owners)
    if tags is not None:
        body["tags"] = dict(tags)
    if sensitivity is not None:
        body["sensitivity"] = sensitivity
    return body


class AsyncProjects(AsyncResource):
    async def create(self, name: str, description: str = "") -> dict[str, Any]:
        body = {"name": name, "description": description}
        answer: dict[str, Any] = await self._t.call(Request("POST", _PROJECTS, json=body))
        return answer

    async def list(self, limit: int | None = None, cursor: str | None = None) -> dict[str, Any]:
        """One page: ``{"projects": [...], "cursor"}`` (those the caller may read)."""
        req = Request("GET", _PROJECTS, params={"limit": limit, "cursor": cursor}, idempotent=True)
        answer: dict[str, Any] = await self._t.call(req)
        return answer

    async def get(self, name: str) -> dict[str, Any]:
        answer: dict[str, Any] = await self._t.call(
            Request("GET", _PROJECT, _where(name), idempotent=True)
        )
        return answer

    async def delete(self, name: str) -> None:
        """Only an empty project (else ``ProjectNotEmptyError``)."""
        await self._t.call(Request("DELETE", _PROJECT, _where(name), idempotent=True))


class AsyncApiKeys(AsyncResource):
    async def create(
        self,
        project: str,
        name: str,
        value: str,
        *,
        provider: str | None = None,
        hosts: Sequence[str] | None = None,
        allowed_networks: Sequence[str] | None = None,
        injection: Mapping[str, str] | None = None,
        expires_at: datetime | None = None,
        rotate_after_days: int | None = None,
        rotation_hook: str | None = None,
        owners: Sequence[str] | None = None,
        tags: Mapping[str, str] | None = None,
        sensitivity: str | None = None,
    ) -> dict[str, Any]:
        """Store ``value`` (sealed; never returned). ``injection``: ``{"kind": "header",
        "name": "Authorization", "template": "Bearer {key}"}`` (the default)."""
        body = {"name": name, "value": str(value)}
        body |= _settings(
            hosts,
            allowed_networks,
            injection,
            expires_at,
            rotate_after_days,
            rotation_hook,
            owners,
            tags,
            sensitivity,
            provider,
        )
        answer: dict[str, Any] = await self._t.call(
            Request("POST", _KEYS, _where(project), json=body)
        )
        return answer

    async def list(
        self, project: str, limit: int | None = None, cursor: str | None = None
    ) -> dict[str, Any]:
        """One page: ``{"keys": [...], "cursor"}`` (those the caller may read)."""
        req = Request(
            "GET",
            _KEYS,
            _where(project),
            params={"limit": limit, "cursor": cursor},
            idempotent=True,
        )
        answer: dict[str, Any] = await self._t.call(req)
        return answer

    async def iter_all(self, project: str, page_size: int = 100) -> AsyncIterator[dict[str, Any]]:
        cursor = None
        while True:
            page = await self.list(project, page_size, cursor)
            for key in page["keys"]:
                yield key
            cursor = page.get("cursor")
            if not cursor:
                return

    async def get(self, project: str, name: str) -> dict[str, Any]:
        answer: dict[str, Any] = await self._t.call(
            Request("GET", _KEY, _where(project, name), idempotent=True)
        )
        return answer

    async def update(
        self,
        project: str,
        name: str,
        *,
        version: int | None = None,
        provider: str | None = None,
        hosts: Sequence[str] | None = None,
        allowed_networks: Sequence[str] | None = None,
        injection: Mapping[str, str] | None = None,
        expires_at: datetime | None = None,
        clear_expiry: bool = False,
        rotate_after_days: int | None = None,
        rotation_hook: str | None = None,
        owners: Sequence[str] | None = None,
        tags: Mapping[str, str] | None = None,
        sensitivity: str | None = None,
    ) -> dict[str, Any]:
        """``version``: compare-and-set (``ApiKeyConflictError`` when it moved on)."""
        body = _settings(
            hosts,
            allowed_networks,
            injection,
            expires_at,
            rotate_after_days,
            rotation_hook,
            owners,
            tags,
            sensitivity,
            provider,
        )
        if version is not None:
            body["version"] = version
        if clear_expiry:
            body["clearExpiry"] = True
        idempotent = version is not None  # a lost answer then cannot apply twice
        answer: dict[str, Any] = await self._t.call(
            Request("PATCH", _KEY, _where(project, name), json=body, idempotent=idempotent)
        )
        return answer

    async def delete(self, project: str, name: str) -> None:
        await self._t.call(Request("DELETE", _KEY, _where(project, name), idempotent=True))

    async def rotate(
        self,
        project: str,
        name: str,
        value: str | None = None,
        *,
        hook: bool = False,
        request_token: str | None = None,
    ) -> dict[str, Any]:
        """A new ``value``, or ``hook=True`` for the key's rotation hook. With a
        ``request_token`` a retry rotates once (and the client may retry it)."""
        body: dict[str, Any] = {"value": str(value)} if value is not None else {}
        if hook:
            body["hook"] = True
        if request_token is not None:
            body["requestToken"] = request_token
        req = Request(
            "POST",
            _KEY + "/rotate",
            _where(project, name),
            json=body,
            idempotent=request_token is not None,
        )
        answer: dict[str, Any] = await self._t.call(req)
        return answer

    async def _state(self, project: str, name: str, step: str, reason: str | None) -> Any:
        body = {"reason": reason} if reason is not None else None
        req = Request("POST", _KEY + step, _where(project, name), json=body, idempotent=True)
        return await self._t.call(req)

    async def revoke(self, project: str, name: str, reason: str | None = None) -> dict[str, Any]:
        answer: dict[str, Any] = await self._state(project, name, "/revoke", reason)
        return answer

    async def block(self, project: str, name: str, reason: str | None = None) -> dict[str, Any]:
        answer: dict[str, Any] = await self._state(project, name, "/block", reason)
        return answer

    async def unblock(self, project: str, name: str) -> dict[str, Any]:
        answer: dict[str, Any] = await self._state(project, name, "/unblock", None)
        return answer

    async def usable(self, project: str, name: str) -> dict[str, Any]:
        """Whether the broker would use the key now (``api-keys:use``)."""
        answer: dict[str, Any] = await self._t.call(
            Request("GET", _KEY + "/usable", _where(project, name), idempotent=True)
        )
        return answer

    async def reveal(self, project: str, name: str) -> dict[str, Any]:
        """The current value as a ``Secret`` (audited; an explicit grant only)."""
        answer: dict[str, Any] = await self._t.call(
            Request("POST", _KEY + "/reveal", _where(project, name), idempotent=True)
        )
        if isinstance(answer.get("value"), str):
            answer["value"] = Secret(answer["value"])
        return answer

    async def usage(
        self,
        project: str,
        name: str,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        granularity: str = "hour",
    ) -> dict[str, Any]:
        """Uses of the key per ``hour`` or ``day`` over ``[start, end)`` (default: the
        last 24 hours, or 30 days by day): ``buckets``, ``byKind``, ``byStatusClass``,
        ``byCaller``, ``byHost``, ``lastUsed``, ``recentSources`` (docs/usage-analytics.md).
        ``api-keys:read``; ``UsageRangeError``/``UsageGranularityError`` (USG001/002)."""
        params: dict[str, Any] = {"granularity": granularity}
        if start is not None:
            params["from"] = start.isoformat()
        if end is not None:
            params["to"] = end.isoformat()
        answer: dict[str, Any] = await self._t.call(
            Request("GET", _KEY + "/usage", _where(project, name), params=params, idempotent=True)
        )
        return answer
