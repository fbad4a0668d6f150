"""AWS KMS backend through boto3 (a symmetric KMS key).

Wrapped blob invariant: the ``CiphertextBlob`` AWS returns, made with the wrap
context as ``EncryptionContext`` (AWS binds it and enforces equality on decrypt and
logs it in CloudTrail, so the context holds identifiers only, never secrets).
``key_ref`` is ``aws:{key ARN}``; AWS rotates the key material inside the key and
keeps older material for decryption, so ``rewrap`` is ``ReEncrypt`` under the
configured key (which also moves blobs from an old key id to a new one).
boto3 is blocking: calls run in worker threads; its own retries are off because
the resilience layer retries.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError

from strongroom.kms.interfaces import KmsError, KmsUnavailable, Wrapped

_TRANSIENT_CODES = {
    "KMSInternalException",
    "ThrottlingException",
    "DependencyTimeoutException",
    "KeyUnavailableException",
    "ServiceUnavailableException",
    "InternalFailure",
}


class AwsKms:
    name = "aws"

    def __init__(
        self,
        key_id: str,
        *,
        region: str,
        endpoint_url: str | None = None,
        timeout: float = 2.0,
        client: Any = None,
    ) -> None:
        config = Config(
            connect_timeout=timeout,
            read_timeout=timeout,
            retries={"max_attempts": 1, "mode": "standard"},
        )
        self._client = client or boto3.client(
            "kms", region_name=region, endpoint_url=endpoint_url, config=config
        )
        self._key_id = key_id
        self._arn: str | None = None

    @property
    def key_ref(self) -> str:
        return f"aws:{self._arn or self._key_id}"

    async def wrap(self, plaintext: bytes, context: Mapping[str, str]) -> Wrapped:
        resp = await self._call(
            "encrypt", KeyId=self._key_id, Plaintext=plaintext, EncryptionContext=dict(context)
        )
        self._arn = str(resp["KeyId"])
        return Wrapped(f"aws:{self._arn}", bytes(resp["CiphertextBlob"]))

    async def unwrap(self, wrapped: Wrapped, context: Mapping[str, str]) -> bytes:
        key_id = wrapped.key_ref.removeprefix("aws:")
        resp = await self._call(
            "decrypt", CiphertextBlob=wrapped.blob, KeyId=key_id, EncryptionContext=dict(context)
        )
        return bytes(resp["Plaintext"])

    async def rewrap(self, wrapped: Wrapped, context: Mapping[str, str]) -> Wrapped:
        resp = await self._call(
            "re_encrypt",
            CiphertextBlob=wrapped.blob,
            SourceKeyId=wrapped.key_ref.removeprefix("aws:"),
            SourceEncryptionContext=dict(context),
            DestinationKeyId=self._key_id,
            DestinationEncryptionContext=dict(context),
        )
        self._arn = str(resp["KeyId"])
        return Wrapped(f"aws:{self._arn}", bytes(resp["CiphertextBlob"]))

    async def health(self) -> bool:
        try:
            resp = await self._call("describe_key", KeyId=self._key_id)
        except KmsError:
            return False
        meta = resp["KeyMetadata"]
        self._arn = str(meta["Arn"])
        return bool(meta.get("Enabled")) and meta.get("KeyState") == "Enabled"

    async def close(self) -> None:
        await asyncio.to_thread(self._client.close)

    async def _call(self, op: str, **kwargs: Any) -> Any:
        try:
            return await asyncio.to_thread(getattr(self._client, op), **kwargs)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in _TRANSIENT_CODES:
                raise KmsUnavailable("KMS unavailable") from None
            # The code only (e.g. InvalidCiphertextException): messages may echo input.
            raise KmsError(f"KMS refused the request ({code or 'unknown'})") from None
        except (BotoConnectionError, HTTPClientError):
            raise KmsUnavailable("KMS unreachable") from None
        except BotoCoreError:
            raise KmsError("KMS client error") from None
