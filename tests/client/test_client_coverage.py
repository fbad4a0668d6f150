"""Every route of the service has a client method: each method's request is recorded
(method and path template, from the client's own log line) and the set is compared
with the app's routes. A new route without a client method fails here."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute

from strongroom.api.routers import ROUTERS
from strongroom_client import Client

# Enough of every answer shape for the client's parsing.
ANSWER: dict[str, Any] = {
    "encryptedData": [],
    "decryptedData": [],
    "rewrappedData": [],
    "rotatedData": [],
    "results": [],
    "version": 1,
    "history": [],
    "tokens": [],
    "events": [],
    "keyStatement": {},
    "status": "ok",
    "headers": [],
    "body": "",
}

CALLS: list[Callable[[Client], Any]] = [
    lambda c: c.keys.create("u"),
    lambda c: c.keys.get("u"),
    lambda c: c.keys.public_key("u"),
    lambda c: c.keys.history("u"),
    lambda c: c.keys.update_policy("u", rotation_period_days=1),
    lambda c: c.keys.schedule_deletion("u"),
    lambda c: c.keys.cancel_deletion("u"),
    lambda c: c.keys.service_keys(),
    lambda c: c.encrypt("u", ["x"]),
    lambda c: c.decrypt("u", ["x"]),
    lambda c: c.data.decrypt_each("u", ["x"]),
    lambda c: c.rewrap("u", ["x"]),
    lambda c: c.data.rewrap_each("u", ["x"]),
    lambda c: c.rotate("u", ["x"]),
    lambda c: c.blind_index.tokens("f", ["x"]),
    lambda c: c.access_keys.create(["user"]),
    lambda c: c.access_keys.list(),
    lambda c: c.access_keys.get("k"),
    lambda c: c.access_keys.rotate("k"),
    lambda c: c.access_keys.revoke("k"),
    lambda c: c.roles.list(),
    lambda c: c.roles.get("r"),
    lambda c: c.roles.put("r", []),
    lambda c: c.roles.delete("r"),
    lambda c: c.tokens.revoke("i", "j"),
    lambda c: c.audit.records(),
    lambda c: c.audit.lookup("v"),
    lambda c: c.audit.verify(),
    lambda c: c.audit.public_key(),
    lambda c: c.audit.security_events(),
    lambda c: c.certificates.import_pem("-----BEGIN CERTIFICATE-----"),
    lambda c: c.certificates.list(san="www.example.com"),
    lambda c: c.certificates.get("ab" * 32),
    lambda c: c.certificates.export("ab" * 32, "pkcs12", "password"),
    lambda c: c.certificates.revoke("ab" * 32),
    lambda c: c.authorities.create("root", "Root"),
    lambda c: c.authorities.list(),
    lambda c: c.authorities.put_role("root", "web", allowedDomains=["example.com"]),
    lambda c: c.authorities.roles("root"),
    lambda c: c.authorities.issue("root", "web", dns_names=["a.example.com"]),
    lambda c: c.authorities.crl("root"),
    lambda c: c.health.live(),
    lambda c: c.health.ready(),
    lambda c: c.health.metrics(),
    lambda c: c.secrets.get("apps/x"),
    lambda c: c.secrets.put("apps/x", {"k": "v"}),
    lambda c: c.secrets.patch("apps/x", {"k": "v"}),
    lambda c: c.secrets.delete("apps/x"),
    lambda c: c.secrets.delete("apps/x", [1]),
    lambda c: c.secrets.undelete("apps/x", [1]),
    lambda c: c.secrets.destroy("apps/x", [1]),
    lambda c: c.secrets.promote("apps/x"),
    lambda c: c.secrets.metadata("apps/x"),
    lambda c: c.secrets.update_metadata("apps/x", max_versions=3),
    lambda c: c.secrets.purge("apps/x"),
    lambda c: c.secrets.list("apps/"),
    lambda c: c.shares.create(60, "v"),
    lambda c: c.shares.redeem("t"),
    lambda c: c.shares.list(),
    lambda c: c.shares.get("s"),
    lambda c: c.shares.accesses("s"),
    lambda c: c.shares.revoke("s"),
    lambda c: c.projects.create("p"),
    lambda c: c.projects.list(),
    lambda c: c.projects.get("p"),
    lambda c: c.projects.delete("p"),
    lambda c: c.api_keys.create("p", "k", "sk-x"),
    lambda c: c.api_keys.list("p"),
    lambda c: c.api_keys.get("p", "k"),
    lambda c: c.api_keys.update("p", "k", version=1, tags={"a": "b"}),
    lambda c: c.api_keys.delete("p", "k"),
    lambda c: c.api_keys.rotate("p", "k", "sk-y"),
    lambda c: c.api_keys.revoke("p", "k"),
    lambda c: c.api_keys.block("p", "k"),
    lambda c: c.api_keys.unblock("p", "k"),
    lambda c: c.api_keys.usable("p", "k"),
    lambda c: c.api_keys.reveal("p", "k"),
    lambda c: c.api_keys.usage("p", "k", granularity="day"),
    lambda c: c.broker.request("p", "k", "GET", "https://api.example.com/v1"),
    *(
        (lambda c, m=m: c.broker.proxy("p", "k", m, "https://api.example.com/v1/x?a=1"))
        for m in ("GET", "POST", "PUT", "PATCH", "DELETE")
    ),
    lambda c: c.mcp.register_tool("t", "c", ["a.example"], ["GET"], schema_sha256="ab" * 32),
    lambda c: c.mcp.list_tools(),
    lambda c: c.mcp.get_tool(1),
    lambda c: c.mcp.approve_tool(1),
    lambda c: c.mcp.suspend_tool(1),
    lambda c: c.mcp.request_access({"name": "t"}, "p", "k", ["a.example"], ["GET"], 60, "x"),
    lambda c: c.mcp.list_requests(),
    lambda c: c.mcp.get_request("r"),
    lambda c: c.mcp.approve_request("r", "d"),
    lambda c: c.mcp.deny_request("r", "d", "no"),
    lambda c: c.mcp.revoke_session("s"),
    lambda c: c.mcp.policy(),
    lambda c: c.mcp.set_policy(threshold=1),
    lambda c: c.mcp.policy_versions(),
]
LOGGED = re.compile(r"^strongroom (\w+) (\S+) -> ")


def test_every_route_has_a_client_method(caplog: pytest.LogCaptureFixture) -> None:
    routes = {
        (m, r.path_format)  # without a path convertor ({shareId:shareid})
        for router in ROUTERS
        for r in router.routes
        if isinstance(r, APIRoute)
        for m in (r.methods or set()) - {"HEAD"}
    }
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=ANSWER))
    caplog.set_level(logging.DEBUG, logger="strongroom_client")
    with Client("http://strongroom.test", api_key="k", transport=transport, env={}) as c:
        for call in CALLS:
            call(c)
    called = {
        (m.group(1), m.group(2))
        for r in caplog.records
        if (m := LOGGED.match(r.getMessage())) is not None
    }
    # Templates name their parameters like the app ({userId}, {keyId}, {name}).
    assert called == routes


def _codes(cls: type[Any]) -> set[str]:
    out = {str(cls.code)}
    for sub in cls.__subclasses__():
        out |= _codes(sub)
    return out


def test_every_service_error_code_has_a_client_error() -> None:
    import strongroom.api.app  # noqa: F401 (loads every module that defines an error)
    from strongroom.errors import StrongroomError as ServiceError
    from strongroom_client.errors import ERRORS

    assert _codes(ServiceError) - set(ERRORS) == set()
