"""Blind index tokens: keyed equality tokens for searching encrypted fields
(docs/blind-index.md, which also says what they leak).

    tenant secret = 32 random bytes per tenant, wrapped by the KMS (service_keys,
                    name ``blind-index:`` + first 20 bytes of SHA-256(tenant), hex)
    field key     = HMAC-SHA256(tenant secret, lp("sr-bi-1", scope, userId, field,
                    normalisations joined by ",", [length]))
    token         = base64url(HMAC-SHA256(field key, UTF-8(normalise(value)))[:length])

``scope`` is ``user`` (``userId`` given; the user's key must be usable, so a shredded
user gets no new tokens) or ``tenant`` (``userId`` empty). Different users, fields,
normalisations or lengths give unrelated tokens.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import unicodedata
from collections.abc import Sequence

from strongroom.audit.actions import KeyAction
from strongroom.audit.audited import audited
from strongroom.audit.models import AuditEvent, Outcome
from strongroom.context import Actor
from strongroom.crypto.binding import lp
from strongroom.crypto.codec import b64url
from strongroom.keys.core import TARGET_KIND, KeyCore
from strongroom.kms.secrets import service_secret
from strongroom.store.service_keys import ServiceKeys

TAG = b"sr-bi-1"
# Applied in this order, whatever order the request names them in.
NORMALISATIONS = ("digits", "whitespace", "case")
MIN_LENGTH, MAX_LENGTH = 4, 32


def secret_name(tenant: str) -> str:
    return "blind-index:" + hashlib.sha256(tenant.encode()).digest()[:20].hex()


def normalise(value: str, flags: Sequence[str]) -> str:
    """NFC always (one text, one form); then the chosen normalisations."""
    text = unicodedata.normalize("NFC", value)
    if "digits" in flags:
        text = "".join(c for c in text if "0" <= c <= "9")
    if "whitespace" in flags:
        text = " ".join(text.split())
    if "case" in flags:
        text = text.casefold()
    return text


def field_key(secret: bytes, user_id: str, field: str, flags: Sequence[str], length: int) -> bytes:
    scope = b"user" if user_id else b"tenant"
    ordered = ",".join(f for f in NORMALISATIONS if f in flags).encode()
    info = lp(TAG, scope, user_id.encode(), field.encode(), ordered, bytes([length]))
    return hmac.new(secret, info, hashlib.sha256).digest()


def tokens(key: bytes, values: Sequence[bytes], length: int) -> list[str]:
    return [b64url(hmac.new(key, v, hashlib.sha256).digest()[:length]) for v in values]


class BlindIndex:
    def __init__(self, core: KeyCore) -> None:
        self._core = core
        self._secrets: dict[str, bytes] = {}  # per tenant, process memory only

    async def _secret(self, tenant: str) -> bytes:
        secret = self._secrets.get(tenant)
        if secret is None:
            secret = await service_secret(
                self._core.kms,
                ServiceKeys(self._core.db),
                secret_name(tenant),
                lambda: os.urandom(32),
            )
            self._secrets[tenant] = secret
        return secret

    async def tokens(
        self,
        actor: Actor,
        user_id: str | None,
        field: str,
        values: list[str],
        normalize: Sequence[str],
        length: int,
    ) -> list[str]:
        """One token per value; ``user_id`` None: the tenant-wide index of ``field``."""
        core, action, count = self._core, KeyAction.BLIND_INDEX, len(values)
        async with audited(
            core.audit, actor, action, user_id, count=count, target_kind=TARGET_KIND
        ):
            core.check_batch(values)
            if user_id is not None:
                await core.usable(actor, user_id)
            raw = core.encode_items([normalise(v, normalize) for v in values])
            secret = await self._secret(actor.tenant)
            key = field_key(secret, user_id or "", field, normalize, length)
            out = tokens(key, raw, length)
        detail = {"field": field, "scope": "user" if user_id else "tenant"}
        event = AuditEvent(
            actor=actor,
            action=action,
            outcome=Outcome.SUCCESS,
            target=user_id,
            item_count=count,
            detail=detail,
            target_kind=TARGET_KIND,
        )
        await core.audit.append_before_release(event)
        return out
