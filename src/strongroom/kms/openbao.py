"""OpenBao / HashiCorp Vault transit backend over the HTTP API.

Wrapped blob invariant: the transit ciphertext string ``vault:v{n}:{base64}`` as
UTF-8 bytes, encrypted with the canonical context encoding as ``associated_data``
(AEAD key types only), so a blob opens only for the context it was made for.
``key_ref`` is ``openbao:{mount}/{key}:v{n}`` with the version the blob names.

Transit's ``rewrap`` endpoint ignores ``associated_data`` (checked on OpenBao 2.x),
so ``rewrap`` is decrypt then encrypt: the material crosses this process briefly,
as it does on every unwrap anyway.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Mapping
from typing import Any

import httpx

from strongroom.kms.interfaces import KmsError, KmsUnavailable, Wrapped, encode_context

_TRANSIENT_STATUS = {429, 500, 502, 503, 504}  # 503 includes "sealed" and standby


class OpenBaoKms:
    name = "openbao"

    def __init__(
        self,
        addr: str,
        *,
        mount: str = "transit",
        key: str = "strongroom-root",
        token: str | None = None,
        approle: tuple[str, str] | None = None,
        namespace: str | None = None,
        timeout: float = 2.0,
        verify: bool | str = True,
    ) -> None:
        if token is None and approle is None:
            raise ValueError("OpenBao needs a token or an AppRole (role id, secret id)")
        self._path = f"/v1/{mount}"
        self._key = key
        self._token = token
        self._approle = approle
        self._login_lock = asyncio.Lock()
        headers = {"X-Vault-Namespace": namespace} if namespace else {}
        # trust_env=False: a CI's HTTP proxy must not see transit traffic.
        self._http = httpx.AsyncClient(
            base_url=addr, timeout=timeout, verify=verify, headers=headers, trust_env=False
        )
        self._latest = 1
        self._prefix = f"openbao:{mount}/{key}"

    @property
    def key_ref(self) -> str:
        return f"{self._prefix}:v{self._latest}"

    async def wrap(self, plaintext: bytes, context: Mapping[str, str]) -> Wrapped:
        data = await self._call(
            f"encrypt/{self._key}",
            {"plaintext": _b64(plaintext), "associated_data": _b64(encode_context(context))},
        )
        ciphertext = str(data["ciphertext"])
        self._latest = max(self._latest, _version(ciphertext))
        return Wrapped(f"{self._prefix}:v{_version(ciphertext)}", ciphertext.encode())

    async def unwrap(self, wrapped: Wrapped, context: Mapping[str, str]) -> bytes:
        try:
            ciphertext = wrapped.blob.decode("ascii")
        except UnicodeDecodeError:
            raise KmsError("malformed wrapped key") from None
        _version(ciphertext)
        data = await self._call(
            f"decrypt/{self._key}",
            {"ciphertext": ciphertext, "associated_data": _b64(encode_context(context))},
        )
        try:
            return base64.b64decode(str(data["plaintext"]), validate=True)
        except (KeyError, ValueError):
            raise KmsError("malformed KMS answer") from None

    async def rewrap(self, wrapped: Wrapped, context: Mapping[str, str]) -> Wrapped:
        return await self.wrap(await self.unwrap(wrapped, context), context)

    async def rotate_root(self) -> str:
        """Create a new version of the transit key; new wraps use it at once."""
        await self._request("POST", f"{self._path}/keys/{self._key}/rotate", None)
        return await self.refresh()

    async def refresh(self) -> str:
        """Read the key's newest version (start-up, before a rewrap pass)."""
        data = await self._request("GET", f"{self._path}/keys/{self._key}", None)
        self._latest = int(data["latest_version"])
        return self.key_ref

    async def health(self) -> bool:
        try:
            await self.refresh()
        except KmsError:
            return False
        return True

    async def close(self) -> None:
        await self._http.aclose()

    async def _call(self, op: str, body: dict[str, Any]) -> dict[str, Any]:
        data: dict[str, Any] = await self._request("POST", f"{self._path}/{op}", body)
        return data

    async def _request(self, method: str, path: str, body: dict[str, Any] | None) -> Any:
        for attempt in (1, 2):
            token = await self._current_token()
            try:
                resp = await self._http.request(
                    method, path, json=body, headers={"X-Vault-Token": token}
                )
            except httpx.HTTPError:
                raise KmsUnavailable("KMS unreachable") from None
            if resp.status_code == 403 and self._approle is not None and attempt == 1:
                self._token = None  # AppRole token expired or revoked: log in again
                continue
            return _answer(resp)
        raise KmsError("KMS denied the request")

    async def _current_token(self) -> str:
        if self._token is not None:
            return self._token
        assert self._approle is not None
        async with self._login_lock:
            if self._token is None:
                role_id, secret_id = self._approle
                try:
                    resp = await self._http.post(
                        "/v1/auth/approle/login", json={"role_id": role_id, "secret_id": secret_id}
                    )
                except httpx.HTTPError:
                    raise KmsUnavailable("KMS unreachable") from None
                self._token = str(_answer(resp, whole=True)["auth"]["client_token"])
            return self._token


def _answer(resp: httpx.Response, *, whole: bool = False) -> Any:
    # Error bodies are not passed on: they may echo request fields.
    if resp.status_code in _TRANSIENT_STATUS:
        raise KmsUnavailable(f"KMS answered {resp.status_code}")
    if resp.status_code >= 400:
        raise KmsError(f"KMS refused the request ({resp.status_code})")
    if resp.status_code == 204:
        return {}
    try:
        payload = resp.json()
        return payload if whole else payload["data"]
    except (ValueError, KeyError, TypeError):
        raise KmsError("malformed KMS answer") from None


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _version(ciphertext: str) -> int:
    parts = ciphertext.split(":", 2)
    if len(parts) != 3 or parts[0] != "vault" or not parts[1].startswith("v"):
        raise KmsError("malformed wrapped key")
    try:
        return int(parts[1][1:])
    except ValueError:
        raise KmsError("malformed wrapped key") from None
