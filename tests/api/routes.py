"""Every route of the app, enumerated from ``app.routes``, and a request for each.

A route without a recipe below still gets a request (path parameters filled in, a
generic body), so a new route is driven by the audit and leak tests from the start.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx
from fastapi import FastAPI
from fastapi.routing import APIRoute

if TYPE_CHECKING:
    from tests.api.conftest import App

MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Answered without credentials by design (a share's holder redeems with its token).
PUBLIC = frozenset(
    {
        *("/healthz", "/readyz", "/openapi.json", "/docs", "/docs/oauth2-redirect"),
        *("/docs/assets", "/api/v1/shares/redeem", "/s", "/s/share.js", "/s/share.css"),
    }
)


@dataclass(frozen=True)
class Route:
    method: str
    path: str


def _walk(routes: list[Any]) -> Iterator[Any]:
    for r in routes:
        inner = getattr(r, "original_router", None)  # FastAPI's included routers
        if inner is not None:
            yield from _walk(inner.routes)
        else:
            yield r


def encrypt_scope(api_key: str, client: tuple[str, int]) -> dict[str, Any]:
    """An ASGI scope for ``POST /api/v1/encrypt`` with ``api_key``, for tests that drive
    the app with their own ``receive`` and ``send``."""
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/v1/encrypt",
        "raw_path": b"/api/v1/encrypt",
        "query_string": b"",
        "root_path": "",
        "client": client,
        "server": ("strongroom", 80),
        "headers": [(b"x-api-key", api_key.encode()), (b"content-type", b"application/json")],
    }


def asgi_app(app: App) -> FastAPI:
    """The FastAPI app behind a tests.api.conftest.App's client."""
    transport = app.client._transport
    assert isinstance(transport, httpx.ASGITransport)
    application = transport.app
    assert isinstance(application, FastAPI)
    return application


def api_routes(app: FastAPI) -> list[Route]:
    out = []
    for r in _walk(list(app.routes)):
        if not isinstance(r, APIRoute):
            continue
        for m in sorted((r.methods or set()) - {"HEAD"}):
            out.append(Route(m, r.path))
    return out


def all_paths(app: FastAPI) -> list[Route]:
    """Including the framework's own (docs, OpenAPI)."""
    out = []
    for r in _walk(list(app.routes)):
        for m in sorted((getattr(r, "methods", None) or {"GET"}) - {"HEAD"}):
            out.append(Route(m, r.path))
    return out


@dataclass
class Ctx:
    """Objects the requests act on, and the values they carry."""

    user: str  # has a key and a ciphertext
    victim: str  # has a key that deletion routes act on
    ciphertext: str
    access_key_id: str
    plaintext: str = "plain"
    share_id: str = "aaaaaaaaaaaaaaaa"  # a share's id (the default names none)
    share_token: str = "srs_none"  # a share's token (the default redeems nothing)
    passphrase: str = "a passphrase"
    description: str = "a description"
    token: str = "token"
    new_user: int = 0
    secret: str = "apps/routes/canary"  # a vault path the secret routes act on
    # Certificates (api/routers/certificates.py): a held certificate with its key, the
    # PEM bundle the import route sends, a CA and one of its roles.
    certificate: str = "00" * 32
    certificate_pem: str = ""
    password: str = "a password"
    authority: str = "x"
    role: str = "x"
    # Stored API keys (api/routers/api_keys.py): a project and a key in it.
    project: str = "routes"
    api_key: str = "canary"
    # MCP approvals (api/routers/mcp.py): a tool, an access request and a session.
    tool_id: str = "1"
    request_id: str = "0" * 32
    session_id: str = "0" * 32
    digest: str = "0" * 64


def request_for(route: Route, ctx: Ctx) -> tuple[str, dict[str, Any] | None]:
    """(url, JSON body) that should succeed for an admin of the default tenant."""
    deletion = route.path.endswith("/deletion")
    url = route.path.replace("{userId}", ctx.victim if deletion else ctx.user)
    url = re.sub(r"\{shareId(:\w+)?\}", ctx.share_id, url)
    url = url.replace("{keyId}", ctx.access_key_id)
    url = url.replace("{path:path}", ctx.secret)
    url = url.replace("{fingerprint}", ctx.certificate)
    url = url.replace("{authority}", ctx.authority).replace("{role}", ctx.role)
    url = url.replace("{project}", ctx.project).replace("{key}", ctx.api_key)
    url = url.replace("{toolId}", ctx.tool_id).replace("{requestId}", ctx.request_id)
    url = url.replace("{sessionId}", ctx.session_id)
    url = re.sub(r"\{[^}]+\}", "x", url)
    data = {"userId": ctx.user, "data": [ctx.ciphertext]}
    bodies: dict[tuple[str, str], dict[str, Any] | None] = {
        ("POST", "/api/v1/encrypt"): {"userId": ctx.user, "data": [ctx.plaintext]},
        ("POST", "/api/v1/decrypt"): data,
        ("POST", "/api/v1/rewrap"): data,
        ("POST", "/api/v1/rotate"): {"userId": ctx.user, "data": [{"v": ctx.ciphertext}]},
        ("PATCH", "/api/v1/keys/{userId}/policy"): {"rotationPeriodDays": 30},
        ("POST", "/api/v1/keys/{userId}/deletion"): {"waitingPeriodDays": 1},
        ("DELETE", "/api/v1/keys/{userId}/deletion"): None,
        ("POST", "/api/v1/access-keys"): {"roles": ["user"], "description": ctx.description},
        ("POST", "/api/v1/access-keys/{keyId}/rotate"): {},
        ("POST", "/api/v1/shares"): {
            "value": ctx.plaintext,
            "expiresInSeconds": 3600,
            "views": 3,
            "passphrase": ctx.passphrase,
        },
        ("POST", "/api/v1/shares/redeem"): {"token": ctx.share_token, "passphrase": ctx.passphrase},
        ("POST", "/api/v1/shares/{shareId:shareid}/revoke"): None,
        ("POST", "/api/v1/access-keys/{keyId}/revoke"): None,
        ("POST", "/api/v1/tokens/revoked"): {"issuer": "https://idp.example", "jti": ctx.token},
        ("PUT", f"{_VAULT}/data/{{path:path}}"): {"data": {"value": ctx.plaintext}},
        ("PATCH", f"{_VAULT}/data/{{path:path}}"): {"data": {"more": ctx.plaintext}},
        ("DELETE", f"{_VAULT}/data/{{path:path}}"): None,
        ("POST", f"{_VAULT}/delete/{{path:path}}"): {"versions": [1]},
        ("POST", f"{_VAULT}/undelete/{{path:path}}"): {"versions": [1]},
        ("POST", f"{_VAULT}/destroy/{{path:path}}"): {"versions": [1]},
        ("POST", f"{_VAULT}/promote/{{path:path}}"): {"version": 2},
        ("PATCH", f"{_VAULT}/metadata/{{path:path}}"): {"customMetadata": {"note": "n"}},
        ("DELETE", f"{_VAULT}/metadata/{{path:path}}"): None,
        ("POST", "/api/v1/certificates"): {"pem": ctx.certificate_pem or ctx.plaintext},
        ("POST", "/api/v1/certificates/{fingerprint}/export"): {
            "format": "pkcs12",
            "password": ctx.password,
        },
        ("POST", "/api/v1/certificates/{fingerprint}/revoke"): {"reason": "superseded"},
        ("PUT", "/api/v1/certificate-authorities/{authority}/roles/{role}"): {
            "allowedDomains": ["example.com"],
            "allowSubdomains": True,
        },
        ("POST", "/api/v1/certificate-authorities/{authority}/issue"): {
            "role": ctx.role,
            "dnsNames": ["routes.example.com"],
        },
        ("POST", "/api/v1/projects"): {"name": ctx.project, "description": "routes"},
        ("POST", f"{_KEYS}"): {
            "name": ctx.api_key,
            "value": ctx.plaintext,
            "hosts": ["api.example.com"],
        },
        ("PATCH", f"{_KEYS}/{{key}}"): {"tags": {"env": "test"}},
        ("POST", f"{_KEYS}/{{key}}/rotate"): {"value": ctx.plaintext + "-rotated"},
        ("POST", f"{_KEYS}/{{key}}/revoke"): {"reason": "routes"},
        ("POST", f"{_KEYS}/{{key}}/block"): {"reason": "routes"},
        ("POST", f"{_KEYS}/{{key}}/unblock"): None,
        ("POST", f"{_KEYS}/{{key}}/reveal"): None,
        ("DELETE", f"{_KEYS}/{{key}}"): None,
        ("DELETE", "/api/v1/projects/{project}"): None,
        ("POST", "/api/v1/broker/{project}/{key}/request"): {
            "method": "POST",
            "url": "https://api.routes.test/v1/echo",
            "headers": {"X-Note": ctx.description},
            "body": ctx.plaintext,
        },
        ("POST", "/api/v1/mcp/tools"): {
            "name": "routes-tool",
            "clientId": "routes",
            "schemaSha256": "ab" * 32,
            "hosts": ["api.example.com"],
            "methods": ["GET"],
            "annotations": {"note": ctx.description},
        },
        ("POST", "/api/v1/mcp/tools/{toolId}/approve"): {},
        ("POST", "/api/v1/mcp/tools/{toolId}/suspend"): None,
        ("POST", "/api/v1/mcp/requests"): {
            "tool": {"name": "routes-tool", "clientId": "routes", "schemaSha256": "ab" * 32},
            "project": "routes",
            "key": "routes-key",
            "hosts": ["api.example.com"],
            "methods": ["GET"],
            "durationSeconds": 300,
            "purpose": ctx.description,
        },
        ("POST", "/api/v1/mcp/requests/{requestId}/approve"): {"digest": ctx.digest},
        ("POST", "/api/v1/mcp/requests/{requestId}/deny"): {
            "digest": ctx.digest,
            "reason": ctx.description,
        },
        ("POST", "/api/v1/mcp/sessions/{sessionId}/revoke"): None,
        ("POST", "/api/v1/blind-index"): {
            "userId": ctx.user,
            "field": "email",
            "data": [ctx.plaintext],
            "normalize": ["case"],
        },
    }
    key = (route.method, route.path)
    if key == ("POST", "/api/v1/keys"):
        ctx.new_user += 1
        return url, {"userId": f"{ctx.user}-new-{ctx.new_user}"}
    if key == ("POST", "/api/v1/certificate-authorities"):
        ctx.new_user += 1
        return url, {"name": f"routes-ca-{ctx.new_user}", "commonName": "Routes CA"}
    if key in bodies:
        return url, bodies[key]
    if route.method in MUTATING:  # unknown route: every value a client could send
        return url, {
            "userId": ctx.user,
            "data": [ctx.plaintext, ctx.ciphertext],
            "description": ctx.description,
            "token": ctx.token,
        }
    return url, None


_VAULT = "/api/v1/secrets"
_KEYS = "/api/v1/projects/{project}/api-keys"


def order(routes: list[Route]) -> list[Route]:
    """Revocation and deletion last: they end what other requests need. A secret is
    written first (reads need it) and destroyed and deleted after the rest."""

    def rank(r: Route) -> int:
        # A project, then its key, first; deleting them last of all.
        if (r.method, r.path) == ("POST", "/api/v1/projects"):
            return -3
        if (r.method, r.path) == ("POST", _KEYS):
            return -2
        if r.method == "DELETE" and r.path.startswith("/api/v1/projects/"):
            return 4 if r.path == "/api/v1/projects/{project}" else 3
        if r.path.endswith("/revoke"):
            return 2
        if r.path.endswith("/deletion"):
            return 1
        if r.path.startswith(_VAULT):
            if (r.method, r.path) == ("PUT", f"{_VAULT}/data/{{path:path}}"):
                return -1
            if "/destroy/" in r.path or (r.method == "DELETE" and "/metadata/" in r.path):
                return 1
        return 0

    return sorted(
        routes, key=lambda r: (rank(r), r.path.endswith("/deletion") and r.method == "DELETE")
    )
