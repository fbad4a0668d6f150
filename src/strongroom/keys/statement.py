"""Signed key statements: the service vouches for a user's public key
(docs/key-statement.md), so an offline encryptor can refuse a key a network path
swapped in.

Wire invariant (format 1), every field length-prefixed as in the ciphertext binding:

    statement = lp("sr-key-stmt-1", UTF-8(service key id), UTF-8(tenant), UTF-8(userId),
                   uint32(version), UTF-8(keyType), [suite id], public key,
                   UTF-8(ciphertext prefix), uint64(notBefore), uint64(notAfter))
    signature = Ed25519(service key, statement)

Times are Unix seconds. The service key id is the first 16 bytes of SHA-256 of the
raw Ed25519 public key, hex. The signing key is a service secret wrapped by the KMS
(kms/secrets.py), made on first use and never leaves process memory in clear.
"""

from __future__ import annotations

import asyncio
import hashlib
import struct
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from strongroom.context import Actor
from strongroom.crypto.binding import lp
from strongroom.crypto.suites import KEY_TYPES
from strongroom.errors import InvalidInput
from strongroom.keys.core import KeyCore
from strongroom.keys.models import KeyInfo, KeyState
from strongroom.kms.secrets import service_secret
from strongroom.store.service_keys import ServiceKeys

STATEMENT_TAG = b"sr-key-stmt-1"
SIGNING_KEY_NAME = "key-statement-signing-key"
# A statement shorter-lived than this would expire on the wire: past a scheduled
# rotation that is due so soon, the full TTL applies.
MIN_VALIDITY = 60
ALGORITHM = "Ed25519"


def service_key_id(public_raw: bytes) -> str:
    return hashlib.sha256(public_raw).digest()[:16].hex()


@dataclass(frozen=True)
class StatementFields:
    service_key_id: str
    tenant: str
    user_id: str
    version: int
    key_type: str
    public_key: bytes
    ciphertext_prefix: str
    not_before: int
    not_after: int

    def encode(self) -> bytes:
        return lp(
            STATEMENT_TAG,
            self.service_key_id.encode(),
            self.tenant.encode(),
            self.user_id.encode(),
            struct.pack(">I", self.version),
            self.key_type.encode(),
            bytes([KEY_TYPES[self.key_type]]),
            self.public_key,
            self.ciphertext_prefix.encode(),
            struct.pack(">Q", self.not_before),
            struct.pack(">Q", self.not_after),
        )


@dataclass(frozen=True)
class SignedStatement:
    fields: StatementFields
    statement: bytes
    signature: bytes


@dataclass(frozen=True)
class PublicKey:
    """A key's metadata and, while it may encrypt, its signed statement."""

    info: KeyInfo
    signed: SignedStatement | None


@dataclass(frozen=True)
class ServiceKeyInfo:
    key_id: str
    algorithm: str
    public_raw: bytes
    pem: str


class KeyStatements:
    """Public keys with the service's signed statement, and that key's public half."""

    def __init__(self, core: KeyCore, ttl_seconds: int) -> None:
        self._core = core
        self._ttl = ttl_seconds
        self._private: Ed25519PrivateKey | None = None
        self._lock = asyncio.Lock()

    async def _signer(self) -> Ed25519PrivateKey:
        if self._private is None:
            async with self._lock:
                if self._private is None:
                    raw = await service_secret(
                        self._core.kms,
                        ServiceKeys(self._core.db),
                        SIGNING_KEY_NAME,
                        lambda: Ed25519PrivateKey.generate().private_bytes_raw(),
                    )
                    self._private = Ed25519PrivateKey.from_private_bytes(raw)
        return self._private

    async def service_key(self) -> ServiceKeyInfo:
        public = (await self._signer()).public_key()
        raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        pem = public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode()
        return ServiceKeyInfo(service_key_id(raw), ALGORITHM, raw, pem)

    async def public_key(self, actor: Actor, user_id: str) -> PublicKey:
        """The current version's public key, and, while the key may encrypt, the
        statement over it: valid ``ttl_seconds`` from now, or until the next scheduled
        rotation if that comes first (so offline encryptors refetch at rotation). A
        key scheduled for deletion keeps answering its public key (the v1 contract)
        but gets no statement: offline encryption to it stops."""
        info = await self._core.load(actor.tenant, user_id, fresh=True)
        pub = info.current.public_key
        if pub is None:
            raise InvalidInput("symmetric key has no public key")
        if info.state is not KeyState.ENABLED:
            return PublicKey(info, None)
        signer = await self._signer()
        raw = signer.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        now = int(self._core.clock().timestamp())
        due = info.last_rotated_at + timedelta(days=info.rotation_period_days)
        not_after = now + self._ttl
        if due.timestamp() > now + MIN_VALIDITY:
            not_after = min(not_after, int(due.timestamp()))
        fields = StatementFields(
            service_key_id=service_key_id(raw),
            tenant=info.tenant,
            user_id=info.user_id,
            version=info.current_version,
            key_type=info.key_type,
            public_key=pub,
            ciphertext_prefix=self._core.settings.ciphertext_prefix,
            not_before=now,
            not_after=not_after,
        )
        statement = fields.encode()
        return PublicKey(info, SignedStatement(fields, statement, signer.sign(statement)))


def unix_time(seconds: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds)
