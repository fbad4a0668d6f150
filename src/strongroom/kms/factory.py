"""Build the configured KMS backend(s) by name.

Remote backends (aws, openbao, pkcs11) are wrapped in ``ResilientKms``; with
``previous`` backends set, a ``KmsRouter`` also opens blobs made by those backends.
"""

from __future__ import annotations

from strongroom.config import KmsName, KmsSettings
from strongroom.kms.interfaces import Kms
from strongroom.kms.local import LocalKms
from strongroom.kms.resilience import ResilientKms
from strongroom.kms.router import KmsRouter


def build_kms(settings: KmsSettings) -> Kms:
    primary = build_backend(settings, settings.backend)
    if not settings.previous:
        return primary
    readers: dict[str, Kms] = {n: build_backend(settings, n) for n in settings.previous}
    return KmsRouter(primary, readers)


def build_backend(settings: KmsSettings, name: KmsName) -> Kms:
    if name == "local":
        return LocalKms.from_file(settings.master_key_file)
    return ResilientKms(
        _remote(settings, name),
        timeout=settings.timeout_seconds,
        attempts=settings.retry_attempts,
        deadline=settings.deadline_seconds,
        threshold=settings.breaker_threshold,
        reset_seconds=settings.breaker_reset_seconds,
    )


def _remote(s: KmsSettings, name: KmsName) -> Kms:
    # Imported on demand: boto3 and python-pkcs11 cost start-up time and memory.
    # Settings refuse a backend without its credentials (config/kms.py); these checks
    # only narrow the types.
    if name == "aws":
        from strongroom.kms.aws import AwsKms

        if not s.aws.key_id:
            raise ValueError("STRONGROOM_KMS_AWS_KEY_ID is required for the aws backend")
        return AwsKms(
            s.aws.key_id,
            region=s.aws.region,
            endpoint_url=s.aws.endpoint_url,
            timeout=s.timeout_seconds,
        )
    if name == "openbao":
        from strongroom.kms.openbao import OpenBaoKms

        bao = s.openbao
        role, secret = bao.role_id, bao.secret_id
        return OpenBaoKms(
            bao.addr,
            mount=bao.mount,
            key=bao.key,
            token=bao.token.get_secret_value() if bao.token else None,
            approle=(role, secret.get_secret_value()) if role and secret else None,
            namespace=bao.namespace,
            timeout=s.timeout_seconds,
            verify=str(bao.ca_cert) if bao.ca_cert else True,
        )
    if name == "pkcs11":
        from strongroom.kms.pkcs11 import Pkcs11Kms

        hsm = s.pkcs11
        if hsm.pin is None:
            raise ValueError("STRONGROOM_KMS_PKCS11_PIN is required for the pkcs11 backend")
        return Pkcs11Kms(
            hsm.library,
            hsm.token_label,
            hsm.pin.get_secret_value(),
            hsm.key_label,
            create=hsm.create_key,
        )
    raise ValueError(f"unknown KMS backend: {name}")
