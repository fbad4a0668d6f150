"""KMS settings: the backend, the backends still read, and each backend's section."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator

from strongroom.config.base import Section

KmsName = Literal["local", "aws", "openbao", "pkcs11"]


class AwsKmsSettings(Section):
    """AWS KMS (kms/aws.py); credentials come from boto3's usual chain."""

    key_id: str | None = None
    """The root key: key id, ARN or ``alias/...``. Required when the backend is ``aws``."""
    region: str = "us-east-1"
    """AWS region of the key."""
    endpoint_url: str | None = None
    """Another endpoint (a VPC endpoint, or a stand-in in tests)."""


class OpenBaoKmsSettings(Section):
    """OpenBao or HashiCorp Vault transit (kms/openbao.py)."""

    addr: str = "http://127.0.0.1:8200"
    """Server address."""
    token: SecretStr | None = None
    """Token with the transit policy of docs/operations.md (or use AppRole)."""
    role_id: str | None = None
    """AppRole role id: log in with AppRole instead of a token."""
    secret_id: SecretStr | None = None
    """AppRole secret id."""
    mount: str = "transit"
    """Mount path of the transit engine."""
    key: str = "strongroom-root"
    """Name of the transit key (type ``aes256-gcm96``)."""
    namespace: str | None = None
    """Namespace (``X-Vault-Namespace``), if any."""
    ca_cert: Path | None = None
    """CA bundle that verifies the server's certificate (else the system's)."""


class Pkcs11KmsSettings(Section):
    """A PKCS#11 token (HSM, SoftHSM2) holding an AES-256 root key (kms/pkcs11.py)."""

    library: str = "/usr/lib/softhsm/libsofthsm2.so"
    """Path of the PKCS#11 module."""
    token_label: str = "strongroom"  # noqa: S105 - a label, not a secret
    """Label of the token."""
    pin: SecretStr | None = None
    """User PIN of the token. Required when the backend is ``pkcs11``."""
    key_label: str = "strongroom-root"
    """Label of the root key; a new label is a new root key version."""
    create_key: bool = False
    """Generate a non-extractable AES-256 root key in the token if none has the label."""


class KmsSettings(Section):
    """Root keys (kms/): the backend that wraps every stored secret (docs/kms.md)."""

    backend: KmsName = "local"
    """The backend wrapping new keys: ``local``, ``aws``, ``openbao`` or ``pkcs11``."""
    previous: list[KmsName] = Field(default_factory=list)
    """Backends whose wrapped keys are still read, while `strongroom kms rewrap` moves
    them to the configured one."""
    master_key_file: Path = Path("./strongroom.key")
    """The ``local`` backend's master key file (mode 0600; created on first start)."""
    timeout_seconds: float = Field(default=2.0, gt=0)
    """Remote KMS calls: timeout of one attempt."""
    retry_attempts: int = Field(default=3, ge=1)
    """Remote KMS calls: attempts for a transient failure."""
    deadline_seconds: float = Field(default=2.0, gt=0)
    """Remote KMS calls: one deadline for all the attempts of a call (the longest a
    hung KMS holds a request)."""
    breaker_threshold: int = Field(default=5, ge=1)
    """Failed calls in a row that open the circuit breaker (503 ``SYS001`` at once)."""
    breaker_reset_seconds: float = Field(default=5.0, gt=0)
    """Longest wait between probes while the breaker is open."""
    aws: AwsKmsSettings = Field(default_factory=AwsKmsSettings)
    openbao: OpenBaoKmsSettings = Field(default_factory=OpenBaoKmsSettings)
    pkcs11: Pkcs11KmsSettings = Field(default_factory=Pkcs11KmsSettings)

    @model_validator(mode="after")
    def _backends_configured(self) -> KmsSettings:
        # Each of these made build_kms fail at start-up before: now the load says which.
        for name in (self.backend, *self.previous):
            used = (
                f"STRONGROOM_KMS={name}"
                if name == self.backend
                else (f"STRONGROOM_KMS_PREVIOUS includes {name}")
            )
            if name == "aws" and not self.aws.key_id:
                raise ValueError(f"STRONGROOM_KMS_AWS_KEY_ID is required when {used}")
            bao = self.openbao
            if name == "openbao" and not bao.token and not (bao.role_id and bao.secret_id):
                raise ValueError(
                    "STRONGROOM_KMS_OPENBAO_TOKEN (or STRONGROOM_KMS_OPENBAO_ROLE_ID and "
                    f"STRONGROOM_KMS_OPENBAO_SECRET_ID) is required when {used}"
                )
            if name == "pkcs11" and self.pkcs11.pin is None:
                raise ValueError(f"STRONGROOM_KMS_PKCS11_PIN is required when {used}")
        return self
