"""The vault (docs/secrets.md): versioned secrets under paths like
``apps/billing/stripe``, in OpenBao KV v2's layout. Values come back as
``SecretData`` (a ``dict`` masked in ``repr``)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from strongroom_client._async.resource import AsyncResource
from strongroom_client._core import Request
from strongroom_client._secret import SecretData

_BASE = "/api/v1/secrets"


def _at(kind: str, path: str, method: str, **kw: Any) -> Request:
    return Request(method, f"{_BASE}/{kind}/{{path}}", {"path": path}, slashes=True, **kw)


def _write_body(
    data: Mapping[str, Any],
    cas: int | None,
    expires_at: datetime | None,
    request_token: str | None,
) -> dict[str, Any]:
    body: dict[str, Any] = {"data": dict(data)}
    if cas is not None:
        body["options"] = {"cas": cas}
    if expires_at is not None:
        body["expiresAt"] = expires_at.isoformat()
    if request_token is not None:
        body["requestToken"] = request_token
    return body


class AsyncSecrets(AsyncResource):
    async def get(
        self, path: str, version: int | None = None, label: str | None = None
    ) -> dict[str, Any]:
        """``{"path", "data", "metadata", "customMetadata"}``: the current version, or
        ``version`` / ``label`` (``pending``, ``previous``)."""
        params = {"version": version, "label": label}
        answer: dict[str, Any] = await self._t.call(
            _at("data", path, "GET", params=params, idempotent=True)
        )
        if isinstance(answer.get("data"), dict):
            answer["data"] = SecretData(answer["data"])
        return answer

    async def put(
        self,
        path: str,
        data: Mapping[str, Any],
        *,
        cas: int | None = None,
        expires_at: datetime | None = None,
        label: str | None = None,
        request_token: str | None = None,
    ) -> dict[str, Any]:
        """A new version (``cas=0``: only if none exists; ``cas=N``: only if N is
        current). With ``request_token`` a retried write returns the first answer, so
        it may be retried after a lost answer."""
        body = _write_body(data, cas, expires_at, request_token)
        if label is not None:
            body["label"] = label
        req = _at("data", path, "PUT", json=body, idempotent=request_token is not None)
        answer: dict[str, Any] = await self._t.call(req)
        return answer

    async def patch(
        self,
        path: str,
        data: Mapping[str, Any],
        *,
        cas: int | None = None,
        expires_at: datetime | None = None,
        request_token: str | None = None,
    ) -> dict[str, Any]:
        """A new version: the current one merged with ``data`` (RFC 7396)."""
        body = _write_body(data, cas, expires_at, request_token)
        req = _at("data", path, "PATCH", json=body, idempotent=request_token is not None)
        answer: dict[str, Any] = await self._t.call(req)
        return answer

    async def delete(self, path: str, versions: Sequence[int] | None = None) -> dict[str, Any]:
        """Soft-delete the current version, or ``versions`` (undelete brings them back)."""
        if versions is None:
            req = _at("data", path, "DELETE", idempotent=True)
        else:
            req = _at("delete", path, "POST", json={"versions": list(versions)}, idempotent=True)
        answer: dict[str, Any] = await self._t.call(req)
        return answer

    async def undelete(self, path: str, versions: Sequence[int]) -> dict[str, Any]:
        body = {"versions": list(versions)}
        answer: dict[str, Any] = await self._t.call(
            _at("undelete", path, "POST", json=body, idempotent=True)
        )
        return answer

    async def destroy(self, path: str, versions: Sequence[int]) -> dict[str, Any]:
        """The sealed values of ``versions`` leave the database for good."""
        body = {"versions": list(versions)}
        answer: dict[str, Any] = await self._t.call(
            _at("destroy", path, "POST", json=body, idempotent=True)
        )
        return answer

    async def promote(self, path: str, version: int | None = None) -> dict[str, Any]:
        """The pending version (or ``version``) becomes current; repeating is harmless."""
        body = {} if version is None else {"version": version}
        answer: dict[str, Any] = await self._t.call(
            _at("promote", path, "POST", json=body, idempotent=True)
        )
        return answer

    async def metadata(self, path: str) -> dict[str, Any]:
        answer: dict[str, Any] = await self._t.call(_at("metadata", path, "GET", idempotent=True))
        return answer

    async def update_metadata(
        self,
        path: str,
        *,
        max_versions: int | None = None,
        delete_version_after: int | None = None,
        custom_metadata: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {}
        if max_versions is not None:
            body["maxVersions"] = max_versions
        if delete_version_after is not None:
            body["deleteVersionAfter"] = delete_version_after
        if custom_metadata is not None:
            body["customMetadata"] = dict(custom_metadata)
        answer: dict[str, Any] = await self._t.call(
            _at("metadata", path, "PATCH", json=body, idempotent=True)
        )
        return answer

    async def purge(self, path: str) -> None:
        """Every version, every sealed value and the metadata."""
        await self._t.call(_at("metadata", path, "DELETE", idempotent=True))

    async def list(
        self,
        prefix: str = "",
        meta: Mapping[str, str] | None = None,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> dict[str, Any]:
        """One page of the paths the caller may read: ``{"keys", "cursor"}``;
        ``meta`` filters on customMetadata (AND, at most 10 pairs)."""
        params: dict[str, Any] = {"prefix": prefix or None, "cursor": cursor, "limit": limit}
        for k, v in (meta or {}).items():
            params[f"meta.{k}"] = v
        answer: dict[str, Any] = await self._t.call(
            Request("GET", _BASE, params=params, idempotent=True)
        )
        return answer

    async def iter_paths(
        self, prefix: str = "", meta: Mapping[str, str] | None = None, page_size: int = 100
    ) -> AsyncIterator[str]:
        """Every readable path under ``prefix``, following the cursor."""
        cursor = None
        while True:
            page = await self.list(prefix, meta, cursor, page_size)
            for key in page["keys"]:
                yield key
            cursor = page.get("cursor")
            if not cursor:
                return
