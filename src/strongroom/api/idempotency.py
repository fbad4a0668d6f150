"""The ``Idempotency-Key`` header (draft-ietf-httpapi-idempotency-key-header) on every
POST and PATCH under /api/v1, in the request frame (``RequestContextMiddleware``, so
the fast lane too).

The frame reads the body first (it is already bounded by ``max_body``) and computes the
request's fingerprint: SHA-256 over the method, the path with its query and the
SHA-256 of the body. The key is claimed right after authentication
(``api/deps.authenticate_in`` calls ``claim_after_authentication``), when the tenant
and principal are known, so it is scoped to both and an unauthenticated caller
learns nothing about anyone's keys. Then either the request runs and its answer is
held back until it is stored (idempotency/service.py: sealed, 5xx never), or the
stored answer is replayed with ``Idempotent-Replayed: true`` (api/errors.py maps
``Replay``), or 422 ``IDEM002`` / 409 ``IDEM003``. A request that never
authenticates (a 400 from body validation first, a public route) is not tracked.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from strongroom.access.guard import records_settled
from strongroom.errors import IdempotencyKeyInvalid
from strongroom.idempotency import Claim, Idempotency, Stored

HEADER = b"idempotency-key"
_METHODS = frozenset({"POST", "PATCH"})
_PREFIX = "/api/v1/"
_KEY = re.compile(rb"[\x20-\x7e]{1,255}")
# The headers of an answer worth replaying; the frame adds the rest again.
_KEPT = frozenset({b"content-type", b"location", b"retry-after"})


class Replay(Exception):
    """Raised at authentication when the key's first answer is stored: api/errors.py
    turns it into that answer."""

    def __init__(self, stored: Stored) -> None:
        super().__init__("idempotent replay")
        self.stored = stored


@dataclass(slots=True)
class Pending:
    key: str
    fingerprint: str
    claim: Claim | None = None
    service: Idempotency | None = None


def _key_of(scope: Scope) -> str | None:
    found = [v for k, v in scope["headers"] if k == HEADER]
    if not found:
        return None
    if len(found) > 1 or not _KEY.fullmatch(found[0]):
        raise IdempotencyKeyInvalid()
    key: bytes = found[0]
    return key.decode("ascii")


def applies(scope: Scope) -> bool:
    return scope["method"] in _METHODS and scope["path"].startswith(_PREFIX)


def _enabled(scope: Scope) -> bool:
    """``idempotency.enabled`` (off: the header is ignored, even a malformed one)."""
    svc = getattr(getattr(scope.get("app"), "state", None), "services", None)
    return svc is None or bool(svc.settings.idempotency.enabled)


async def claim_after_authentication(
    scope: Scope, service: Idempotency, tenant: str, principal: str
) -> None:
    """Claim the request's key for (tenant, principal); raise ``Replay`` when its
    answer is stored, or the key's conflict error."""
    pending: Pending | None = scope.get("state", {}).get("idempotency")
    if pending is None or pending.claim is not None or not service.settings.enabled:
        return
    outcome = await service.claim(tenant, principal, pending.key, pending.fingerprint)
    if isinstance(outcome, Stored):
        raise Replay(outcome)
    pending.claim, pending.service = outcome, service


async def run(app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
    """``app`` with the request's ``Idempotency-Key`` honoured (when it has one)."""
    key = _key_of(scope) if applies(scope) and _enabled(scope) else None
    if key is None:
        await app(scope, receive, send)
        return
    body = await _read(receive)
    digest = hashlib.sha256()
    for part in (scope["method"].encode(), scope["path"].encode(), scope["query_string"]):
        digest.update(hashlib.sha256(part).digest())
    digest.update(hashlib.sha256(body).digest())
    pending = Pending(key, digest.hexdigest())
    scope["state"]["idempotency"] = pending
    held: list[Message] = []

    async def hold(message: Message) -> None:
        if pending.claim is None:
            await send(message)  # not claimed (a replay, an early refusal): as it is
        else:
            held.append(message)

    try:
        await app(scope, _replayed(body, receive), hold)
    except BaseException:
        if pending.claim is not None and pending.service is not None:
            await pending.service.release(pending.claim)
        raise
    if pending.claim is not None and pending.service is not None:
        # An answer whose audit records did not become durable is never kept: the
        # frame answers 503 in its place, and a retry must not get it without them.
        audit = scope["state"].get("audit_held") or []
        if audit and await records_settled(list(audit)) is not None:
            await pending.service.release(pending.claim)
        else:
            await pending.service.complete(pending.claim, _answer(held))
        for message in held:
            await send(message)


def _answer(held: list[Message]) -> Stored:
    status, headers, body = 500, [], b""
    for message in held:
        if message["type"] == "http.response.start":
            status = message["status"]
            headers = [
                (k.decode("latin-1"), v.decode("latin-1"))
                for k, v in message.get("headers", [])
                if k.lower() in _KEPT
            ]
        elif message["type"] == "http.response.body":
            body += message.get("body", b"")
    return Stored(status, headers, body)


async def _read(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replayed(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def again() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # e.g. waiting for a disconnect

    return again


def replay_headers(stored: Stored) -> dict[str, Any]:
    headers = dict(stored.headers)
    headers["Idempotent-Replayed"] = "true"
    return headers
