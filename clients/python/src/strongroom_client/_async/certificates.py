"""Certificates: the inventory (import, list, read, export, revoke) and the optional
internal CA (``authorities``: create, list, roles, issue, CRL)."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from strongroom_client._async.resource import AsyncResource
from strongroom_client._core import Request

_BASE = "/api/v1/certificates"
_ONE = _BASE + "/{fingerprint}"
_CA = "/api/v1/certificate-authorities"
_CA_ONE = _CA + "/{authority}"


class AsyncCertificates(AsyncResource):
    async def import_pem(
        self, pem: str, *, password: str | None = None, renews: str | None = None
    ) -> dict[str, Any]:
        """Certificates, a chain, PKCS#7 and at most one private key, as PEM text."""
        return await self._import({"pem": pem}, password, renews)

    async def import_der(self, der: bytes, *, renews: str | None = None) -> dict[str, Any]:
        return await self._import({"der": base64.b64encode(der).decode()}, None, renews)

    async def import_pkcs12(
        self, data: bytes, password: str | None, *, renews: str | None = None
    ) -> dict[str, Any]:
        return await self._import({"pkcs12": base64.b64encode(data).decode()}, password, renews)

    async def _import(
        self, body: dict[str, Any], password: str | None, renews: str | None
    ) -> dict[str, Any]:
        if password is not None:
            body["password"] = password
        if renews is not None:
            body["renews"] = renews
        # Idempotent: importing a certificate already held changes nothing.
        req = Request("POST", _BASE, json=body, idempotent=True)
        answer: dict[str, Any] = await self._t.call(req)
        return answer

    async def list(
        self,
        *,
        expires_before: datetime | None = None,
        issuer: str | None = None,
        san: str | None = None,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> dict[str, Any]:
        """One page, ``{"items", "nextCursor"}``, in notAfter order."""
        params: dict[str, Any] = {}
        if expires_before is not None:
            params["expiresBefore"] = expires_before.isoformat()
        for name, value in (("issuer", issuer), ("san", san), ("cursor", cursor)):
            if value is not None:
                params[name] = value
        if limit is not None:
            params["limit"] = limit
        answer: dict[str, Any] = await self._t.call(
            Request("GET", _BASE, params=params, idempotent=True)
        )
        return answer

    async def get(self, fingerprint: str) -> dict[str, Any]:
        answer: dict[str, Any] = await self._t.call(
            Request("GET", _ONE, {"fingerprint": fingerprint}, idempotent=True)
        )
        return answer

    async def export(
        self, fingerprint: str, fmt: str = "pem", password: str | None = None
    ) -> dict[str, Any]:
        """The certificate, its chain and its private key (``certificates:export``)."""
        body: dict[str, Any] = {"format": fmt}
        if password is not None:
            body["password"] = password
        req = Request("POST", _ONE + "/export", {"fingerprint": fingerprint}, json=body)
        answer: dict[str, Any] = await self._t.call(req)
        return answer

    async def revoke(self, fingerprint: str, reason: str = "unspecified") -> dict[str, Any]:
        req = Request(
            "POST",
            _ONE + "/revoke",
            {"fingerprint": fingerprint},
            json={"reason": reason},
            idempotent=True,
        )
        answer: dict[str, Any] = await self._t.call(req)
        return answer


class AsyncAuthorities(AsyncResource):
    async def create(
        self,
        name: str,
        common_name: str,
        *,
        parent: str | None = None,
        key_type: str | None = None,
        ttl_days: int | None = None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"name": name, "commonName": common_name}
        for key, value in (("parent", parent), ("keyType", key_type), ("ttlDays", ttl_days)):
            if value is not None:
                body[key] = value
        answer: dict[str, Any] = await self._t.call(Request("POST", _CA, json=body))
        return answer

    async def list(self) -> dict[str, Any]:
        answer: dict[str, Any] = await self._t.call(Request("GET", _CA, idempotent=True))
        return answer

    async def put_role(self, authority: str, role: str, **policy: Any) -> dict[str, Any]:
        """``policy``: the API's fields (``allowedDomains``, ``maxTtlDays``, ...)."""
        req = Request(
            "PUT",
            _CA_ONE + "/roles/{role}",
            {"authority": authority, "role": role},
            json=policy,
            idempotent=True,
        )
        answer: dict[str, Any] = await self._t.call(req)
        return answer

    async def roles(self, authority: str) -> dict[str, Any]:
        answer: dict[str, Any] = await self._t.call(
            Request("GET", _CA_ONE + "/roles", {"authority": authority}, idempotent=True)
        )
        return answer

    async def issue(
        self,
        authority: str,
        role: str,
        *,
        csr: str | None = None,
        common_name: str | None = None,
        dns_names: Sequence[str] = (),
        ip_addresses: Sequence[str] = (),
        ttl_days: int | None = None,
    ) -> dict[str, Any]:
        """Without ``csr`` a key is generated and returned once (``privateKeyPem``)."""
        body: dict[str, Any] = {"role": role}
        if csr is not None:
            body["csr"] = csr
        if common_name is not None:
            body["commonName"] = common_name
        if dns_names:
            body["dnsNames"] = list(dns_names)
        if ip_addresses:
            body["ipAddresses"] = list(ip_addresses)
        if ttl_days is not None:
            body["ttlDays"] = ttl_days
        req = Request("POST", _CA_ONE + "/issue", {"authority": authority}, json=body)
        answer: dict[str, Any] = await self._t.call(req)
        return answer

    async def crl(self, authority: str) -> bytes:
        """The CA's CRL, DER."""
        req = Request(
            "GET", _CA_ONE + "/crl", {"authority": authority}, idempotent=True, binary=True
        )
        answer: bytes = await self._t.call(req)
        return answer
