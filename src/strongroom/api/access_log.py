"""One structured access-log line per HTTP request (the seed's access-log example):
request id, client address, user agent, access-key id or OAuth client id, endpoint,
method, status and response time. Never a token, a key, a raw path (it would carry
userIds), a query string or a body."""

from __future__ import annotations

from typing import Any

import structlog
from starlette.types import Scope

from strongroom.logging import info_line

log = structlog.get_logger("strongroom.access")

_UA_MAX = 200  # a client chooses its user agent: bounded, and masked like any value


def access_line(scope: Scope, status: int, seconds: float, *, client_addr: bool = True) -> None:
    """``client_addr=False`` where AUDIT_SENSITIVE_IDENTIFIERS names clientAddr: the log
    then keeps no address the audit trail would only keep as a keyed tag."""
    state: dict[str, Any] = scope.get("state") or {}
    ctx = state.get("context")  # set once the guard authenticated (api/deps.py)
    api_key_id = oauth_client_id = addr = None
    if ctx is not None:
        addr = ctx.actor.client_addr
        api_key_id, oauth_client_id = _credential_ids(ctx, _header(scope, b"x-api-key"))
    elif scope.get("client"):
        addr = scope["client"][0]
    agent = _header(scope, b"user-agent")
    fields = {
        "request_id": state.get("request_id"),
        "client_ip": addr if client_addr else None,
        "user_agent": agent[:_UA_MAX] if agent is not None else None,
        "api_key_id": api_key_id,
        "oauth_client_id": oauth_client_id,
        "endpoint": getattr(scope.get("route"), "path", "unmatched"),
        "method": scope["method"],
        "status_code": status,
        "response_time_ms": round(seconds * 1000, 3),
    }
    if not info_line("access", fields):  # structlog configured otherwise (tests)
        log.info("access", **fields)


def _credential_ids(ctx: Any, api_key: str | None) -> tuple[str | None, str | None]:
    """(access-key id, OAuth client id) of the principal, or of its parts when the
    request combined methods (access/policy.py ``Combined``: the key part first)."""
    principal = ctx.principal
    parts = getattr(principal, "parts", None) or (principal,)
    oauth = next((p.client_id for p in parts if p.client_id is not None), None)
    key = None
    if api_key is not None:
        # The access key's public id (never its secret): the part that is neither the
        # client certificate's nor a token's.
        key = next(
            (p.id for p in parts if p is not ctx.mtls and not p.id.startswith("oidc:")), None
        )
    return key, oauth


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers") or ():
        if key == name:
            return str(value.decode("latin-1"))
    return None
