"""Delivery of security events to a webhook, signed with the Standard Webhooks
scheme (https://www.standardwebhooks.com, docs/security-events.md "Webhook").

Each message has an id (``webhook-id``, the same on every retry, so a receiver
deduplicates), the time of the attempt (``webhook-timestamp``, Unix seconds) and
``webhook-signature: v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>``.
The key is the base64 part of a ``whsec_<base64>`` secret. A secret without that
prefix is the legacy form: its UTF-8 bytes are the key (receivers may verify with
``whsec_`` + base64 of it) and the legacy ``X-Strongroom-Signature: sha256=<hex
HMAC of the body>`` is sent as well, until the operator switches secrets.

One HTTP client serves every delivery (closed by ``close``). Transient failures
(connection errors, timeouts, 5xx, 429) are retried with jittered exponential
backoff by tenacity, a bounded number of times; any other answer is final.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
import uuid

import httpx
import structlog
from tenacity import (
    AsyncRetrying,
    RetryError,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

log = structlog.get_logger("strongroom.security")

SECRET_PREFIX = "whsec_"  # noqa: S105 (the scheme's prefix, not a secret)


def signing_key(secret: str) -> bytes:
    """The HMAC key of a webhook secret (``whsec_<base64>``, or legacy raw text)."""
    if secret.startswith(SECRET_PREFIX):
        try:
            return base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
        except binascii.Error as exc:
            raise ValueError("security webhook secret: whsec_ must be followed by base64") from exc
    return secret.encode()


def sign(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value (scheme v1) of one attempt."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.digest(key, signed, "sha256")).decode()


class _Transient(Exception):
    """An answer worth retrying (5xx, 429)."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


def _transient(exc: BaseException) -> bool:
    # Timeouts count: the message id lets the receiver drop a duplicate.
    return isinstance(exc, (_Transient, httpx.TransportError))


class WebhookSender:
    def __init__(
        self,
        url: str,
        secret: str | None = None,
        *,
        attempts: int = 3,
        timeout_s: float = 2.0,
        backoff_initial_s: float = 0.2,
        backoff_max_s: float = 2.0,
        label: str = "security_webhook",
    ) -> None:
        self.url = url
        self._label = label  # prefix of its log events (security events, audit anchors)
        self._key = signing_key(secret) if secret else None
        self._legacy = bool(secret) and not (secret or "").startswith(SECRET_PREFIX)
        self._attempts = attempts
        self._timeout = timeout_s
        self._wait = wait_exponential_jitter(
            multiplier=backoff_initial_s, max=backoff_max_s, jitter=backoff_initial_s
        )
        self._client: httpx.AsyncClient | None = None
        if self._legacy:
            log.warning(f"{label}_legacy_secret", hint="use a whsec_<base64> secret")

    def client(self) -> httpx.AsyncClient:
        """The one client of every delivery (created on first use, inside the loop)."""
        if self._client is None:
            # Proxy variables still apply, as they did: a receiver may sit outside.
            self._client = httpx.AsyncClient(timeout=self._timeout)
        return self._client

    def headers(self, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
        headers = {
            "Content-Type": "application/json",
            "webhook-id": msg_id,
            "webhook-timestamp": str(timestamp),
        }
        if self._key is not None:
            headers["webhook-signature"] = sign(self._key, msg_id, timestamp, body)
            if self._legacy:
                mac = hmac.new(self._key, body, hashlib.sha256).hexdigest()
                headers["X-Strongroom-Signature"] = f"sha256={mac}"
        return headers

    async def send(self, body: bytes, msg_id: str | None = None) -> bool:
        """Deliver ``body``; True once a 2xx answered. Never raises."""
        msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self._attempts),
            wait=self._wait,
            retry=retry_if_exception(_transient),
        )
        status = 0
        try:
            async for attempt in retrying:
                with attempt:
                    # Signed per attempt: the timestamp is the time of sending.
                    headers = self.headers(msg_id, int(time.time()), body)
                    r = await self.client().post(self.url, content=body, headers=headers)
                    status = r.status_code
                    if status == 429 or status >= 500:
                        raise _Transient(status)
            if 200 <= status < 300:
                return True
            log.error(f"{self._label}_refused", status=status)
        except RetryError as exc:
            last = exc.last_attempt.exception()
            log.error(f"{self._label}_failed", error_type=type(last).__name__)
        except Exception as exc:  # an alarm path must not raise
            log.error(f"{self._label}_failed", error_type=type(exc).__name__)
        return False

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
