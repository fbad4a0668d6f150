"""Shares of one value (docs/sharing.md): create, redeem, list, show, access log,
revoke. Tokens and revealed values are ``Secret`` strings (masked in ``repr``).

``create_encrypted`` encrypts the value here (AES-256-GCM, associated data
``sr-share-v1``) and keeps the key out of the request: the server stores only
ciphertext, and the key travels in the link's fragment (``/s#<token>.<key>``)."""

from __future__ import annotations

import base64
import os
from collections.abc import AsyncIterator, Sequence
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from strongroom_client._async.resource import AsyncResource
from strongroom_client._core import Request
from strongroom_client._secret import Secret

_BASE = "/api/v1/shares"
_ONE = _BASE + "/{shareId}"
AAD = b"sr-share-v1"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _created(answer: dict[str, Any]) -> dict[str, Any]:
    if isinstance(answer.get("token"), str):
        answer["token"] = Secret(answer["token"])
    return answer


class AsyncShares(AsyncResource):
    async def create(
        self,
        expires_in_seconds: int,
        value: str | None = None,
        *,
        source: tuple[str, int] | None = None,
        views: int = 1,
        passphrase: str | None = None,
        encoding: str = "utf-8",
        client_encrypted: bool = False,
        tenant_only: bool = False,
        principals: Sequence[str] = (),
    ) -> dict[str, Any]:
        """A share of ``value`` (or of a vault secret's ``source``: path, version):
        ``{"share": {...}, "token"}``; the token is shown only here."""
        body: dict[str, Any] = {"expiresInSeconds": expires_in_seconds, "views": views}
        if value is not None:
            body["value"] = value
            body["encoding"] = encoding
        if source is not None:
            body["source"] = {"path": source[0], "version": source[1]}
        if passphrase is not None:
            body["passphrase"] = passphrase
        if client_encrypted:
            body["clientEncrypted"] = True
        if tenant_only:
            body["tenantOnly"] = True
        if principals:
            body["principals"] = list(principals)
        return _created(await self._t.call(Request("POST", _BASE, json=body)))

    async def create_encrypted(
        self, expires_in_seconds: int, value: str, **options: Any
    ) -> dict[str, Any]:
        """``create`` of ``value`` encrypted here; the answer adds ``fragment``
        (``<token>.<key>``, a ``Secret``): the link is ``<server>/s#<fragment>``."""
        key, nonce = AESGCM.generate_key(bit_length=256), os.urandom(12)
        sealed = nonce + AESGCM(key).encrypt(nonce, value.encode(), AAD)
        answer = await self.create(
            expires_in_seconds, _b64url(sealed), client_encrypted=True, **options
        )
        answer["fragment"] = Secret(f"{answer['token']}.{_b64url(key)}")
        return answer

    async def redeem(self, token: str, passphrase: str | None = None) -> dict[str, Any]:
        """Reveal the value, taking one view: ``{"value", "encoding",
        "clientEncrypted", "viewsLeft", "expiresAt"}``. Never retried (a lost answer
        may have used the last view)."""
        body: dict[str, Any] = {"token": str(token)}
        if passphrase is not None:
            body["passphrase"] = passphrase
        answer: dict[str, Any] = await self._t.call(Request("POST", _BASE + "/redeem", json=body))
        if isinstance(answer.get("value"), str):
            answer["value"] = Secret(answer["value"])
        return answer

    @staticmethod
    def decrypt_fragment(value: str, fragment: str) -> Secret:
        """The plaintext of a client-encrypted ``value`` with the key in ``fragment``."""
        key = fragment.rsplit(".", 1)[-1]
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        k = base64.urlsafe_b64decode(key + "=" * (-len(key) % 4))
        return Secret(AESGCM(k).decrypt(raw[:12], raw[12:], AAD).decode())

    async def list(
        self, limit: int | None = None, cursor: str | None = None, mine: bool | None = None
    ) -> dict[str, Any]:
        """One page: ``{"shares": [...], "nextCursor"}`` (never a token or value)."""
        params = {"limit": limit, "cursor": cursor, "mine": mine}
        req = Request("GET", _BASE, params=params, idempotent=True)
        answer: dict[str, Any] = await self._t.call(req)
        return answer

    async def iter_all(
        self, page_size: int = 100, mine: bool | None = None
    ) -> AsyncIterator[dict[str, Any]]:
        """Every share's metadata, following ``nextCursor``."""
        cursor = None
        while True:
            page = await self.list(page_size, cursor, mine)
            for share in page["shares"]:
                yield share
            cursor = page.get("nextCursor")
            if not cursor:
                return

    async def get(self, share_id: str) -> dict[str, Any]:
        req = Request("GET", _ONE, {"shareId": share_id}, idempotent=True)
        answer: dict[str, Any] = await self._t.call(req)
        return answer

    async def accesses(
        self, share_id: str, limit: int | None = None, cursor: int | None = None
    ) -> dict[str, Any]:
        """Its access log: ``{"accesses": [{"at", "outcome", "actor", "requestId"}],
        "nextCursor"}``."""
        params = {"limit": limit, "cursor": cursor}
        req = Request("GET", _ONE + "/accesses", {"shareId": share_id}, params=params)
        answer: dict[str, Any] = await self._t.call(req)
        return answer

    async def revoke(self, share_id: str) -> dict[str, Any]:
        """End the share now (its value is wiped)."""
        req = Request("POST", _ONE + "/revoke", {"shareId": share_id}, idempotent=True)
        answer: dict[str, Any] = await self._t.call(req)
        return answer
