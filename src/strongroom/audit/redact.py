"""Keyed HMACs of sensitive audit values (docs/audit-format.md "Sensitive values").

An auditor who already knows a value can ask which records mention it; the trail
itself never holds the value. Wire invariant (format 1; changing it orphans every
stored tag):

    tag(value) = "hmac:" || hex(HMAC-SHA256(k, "sr-audit-lookup-1" 0x00 || UTF-8(value)))[:32]

One tag per value whatever field holds it (target, client address, free text), so a
single lookup finds it everywhere. 128 bits are plenty for matching and fit every
column. ``k`` is a service key wrapped by the KMS (``service_keys``, context
``service_key_context(LOOKUP_KEY_NAME)``, so ``strongroom kms rewrap`` moves it).
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Iterable
from typing import Any

from strongroom.audit.models import AuditEvent
from strongroom.errors import AuditUnavailable
from strongroom.kms.interfaces import Kms
from strongroom.kms.secrets import service_secret
from strongroom.store.db import Database
from strongroom.store.service_keys import ServiceKeys

LOOKUP_KEY_NAME = "audit-lookup-hmac-key"
_TAG = b"sr-audit-lookup-1\x00"
PREFIX = "hmac:"
# Identifier kinds an operator may mark sensitive (setting audit_sensitive_identifiers).
KINDS = frozenset({"userId", "clientAddr", "secretPath"})


class AuditHasher:
    def __init__(self, key: bytes | None, sensitive: Iterable[str] = ()) -> None:
        self._key = key
        self.sensitive = frozenset(sensitive)
        unknown = self.sensitive - KINDS
        if unknown:
            raise ValueError(f"unknown sensitive identifier kinds: {sorted(unknown)}")

    @property
    def ready(self) -> bool:
        return self._key is not None

    def tag(self, value: str) -> str:
        if self._key is None:  # nothing sensitive may be written in clear instead
            raise AuditUnavailable()
        digest = hmac.digest(self._key, _TAG + value.encode("utf-8", "surrogatepass"), "sha256")
        return PREFIX + digest.hex()[:32]

    def row(self, e: AuditEvent, row: dict[str, Any]) -> dict[str, Any]:
        """``row`` (audit_records columns of ``e``) with sensitive values replaced."""
        if e.target is not None and e.target_kind in self.sensitive:
            row["target"] = self.tag(e.target)
        if e.actor.client_addr is not None and "clientAddr" in self.sensitive:
            row["client_addr"] = self.tag(e.actor.client_addr)
        if e.private:
            tags = {name: self.tag(text) for name, text in sorted(e.private.items()) if text}
            if tags:
                row["detail"] = {**(row["detail"] or {}), "hmac": tags}
        return row

    @classmethod
    async def load(cls, db: Database, kms: Kms, sensitive: Iterable[str]) -> AuditHasher:
        """Unwrap the lookup key, creating it on first start (first writer wins)."""
        key = await service_secret(kms, ServiceKeys(db), LOOKUP_KEY_NAME, lambda: os.urandom(32))
        return cls(key, sensitive)
