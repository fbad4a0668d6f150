"""The credential broker (docs/broker.md): call a third-party API through Strongroom,
which injects a stored key; the key itself never reaches this process.

``request`` sends one request described as JSON and returns the upstream's answer;
``proxy`` sends it in forward-proxy mode and returns the upstream's answer as an
``httpx.Response``; ``base_url`` is the address to give another client library
(``openai.OpenAI(base_url=...)``) so that it goes through the broker unchanged.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from strongroom_client._async.resource import AsyncResource
from strongroom_client._core import Request, log_attempt, result
from strongroom_client.errors import InvalidInputError

_BASE = "/api/v1/broker/{project}/{key}"
_PROXY = _BASE + "/{scheme}/{host}/{path}"
# Set by the service on an answer that came from the upstream (any status); an
# answer without it is the service's own (an error with a code).
UPSTREAM_MARK = "x-strongroom-broker"


class AsyncBroker(AsyncResource):
    async def request(
        self,
        project: str,
        key: str,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        body: bytes | str | None = None,
    ) -> dict[str, Any]:
        """``{"status", "headers", "body"}`` of the upstream's answer (``body`` as
        bytes). Refusals raise the typed error of their ``BRKnnn`` code."""
        payload: dict[str, Any] = {"method": method, "url": url, "headers": dict(headers or {})}
        if isinstance(body, bytes):
            payload |= {"body": base64.b64encode(body).decode(), "bodyEncoding": "base64"}
        elif body is not None:
            payload["body"] = body
        req = Request("POST", _BASE + "/request", {"project": project, "key": key}, json=payload)
        answer: dict[str, Any] = await self._t.call(req)
        raw = answer.get("body", "")
        data = base64.b64decode(raw) if answer.get("bodyEncoding") == "base64" else raw.encode()
        return {"status": answer["status"], "headers": answer["headers"], "body": data}

    def base_url(self, project: str, key: str, upstream: str) -> str:
        """The broker's address standing for ``upstream`` (``https://api.openai.com``),
        relative to the service's address."""
        parts = urlsplit(upstream)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise InvalidInputError("upstream must be an absolute http(s) URL")
        names = {"project": project, "key": key}
        base = _BASE.format(**{k: quote(v, safe="") for k, v in names.items()})
        return f"{base}/{parts.scheme}/{parts.netloc}{parts.path.rstrip('/')}/"

    async def proxy(
        self,
        project: str,
        key: str,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        content: bytes | None = None,
    ) -> httpx.Response:
        """Forward-proxy mode: the upstream's answer as it is (whatever its status).
        The service's own refusals (``BRKnnn``, ``AUTH00n``) raise their typed error."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise InvalidInputError("url must be an absolute http(s) URL")
        path = parts.path.lstrip("/") + (f"?{parts.query}" if parts.query else "")
        base = self.base_url(project, key, f"{parts.scheme}://{parts.netloc}")
        req = Request(method.upper(), _PROXY)
        response = await self._t.http.request(
            method.upper(), base + path, content=content or b"", headers=dict(headers or {})
        )
        log_attempt(req, response.status_code, 0)
        if UPSTREAM_MARK not in response.headers:
            result(req, response)  # raises the service's error
        return response
