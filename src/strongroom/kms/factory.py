"""Build the configured KMS backend(s) by name.

Remote backends (aws, openbao, pkcs11) are wrapped in ``ResilientKms``; with
``kms_previous`` set, a ``KmsRouter`` also opens blobs made by those backends.
"""

from __future__ import annotations

from strongroom.config import KmsName, Settings
from strongroom.kms.interfaces import Kms
from strongroom.kms.local import LocalKms
from strongroom.kms.resilience import ResilientKms
from strongroom.kms.router import KmsRouter


def build_kms(settings: Settings) -> Kms:
    primary = build_backend(settings, settings.kms)
    if not settings.kms_previous:
        return primary
    readers: dict[str, Kms] = {n: build_backend(settings, n) for n in settings.kms_previous}
    return KmsRouter(primary, readers)


def build_backend(settings: Settings, name: KmsName) -> Kms:
    if name == "local":
        return LocalKms.from_file(settings.master_key_file)
    return ResilientKms(
        _remote(settings, name),
        timeout=settings.kms_timeout_seconds,
        attempts=settings.kms_retry_attempts,
        threshold=settings.kms_breaker_threshold,
        reset_seconds=settings.kms_breaker_reset_seconds,
    )


def _remote(s: Settings, name: KmsName) -> Kms:
    # Imported on demand: boto3 and python-pkcs11 cost start-up time and memory.
    if name == "aws":
        from strongroom.kms.aws import AwsKms

        if not s.kms_aws_key_id:
            raise ValueError("STRONGROOM_KMS_AWS_KEY_ID is required for the aws backend")
        return AwsKms(
            s.kms_aws_key_id,
            region=s.kms_aws_region,
            endpoint_url=s.kms_aws_endpoint_url,
            timeout=s.kms_timeout_seconds,
        )
    if name == "openbao":
        from strongroom.kms.openbao import OpenBaoKms

        role = s.kms_openbao_role_id
        secret = s.kms_openbao_secret_id
        return OpenBaoKms(
            s.kms_openbao_addr,
            mount=s.kms_openbao_mount,
            key=s.kms_openbao_key,
            token=s.kms_openbao_token.get_secret_value() if s.kms_openbao_token else None,
            approle=(role, secret.get_secret_value()) if role and secret else None,
            namespace=s.kms_openbao_namespace,
            timeout=s.kms_timeout_seconds,
            verify=str(s.kms_openbao_ca_cert) if s.kms_openbao_ca_cert else True,
        )
    if name == "pkcs11":
        from strongroom.kms.pkcs11 import Pkcs11Kms

        if s.kms_pkcs11_pin is None:
            raise ValueError("STRONGROOM_KMS_PKCS11_PIN is required for the pkcs11 backend")
        return Pkcs11Kms(
            s.kms_pkcs11_library,
            s.kms_pkcs11_token_label,
            s.kms_pkcs11_pin.get_secret_value(),
            s.kms_pkcs11_key_label,
            create=s.kms_pkcs11_create_key,
        )
    raise ValueError(f"unknown KMS backend: {name}")
