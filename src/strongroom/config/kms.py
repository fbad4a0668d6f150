"""KMS settings: the backend, the backends still read, and each backend's section."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator

from strongroom.config.base import Section

KmsName = Literal["local", "aws", "openbao", "pkcs11"]


class AwsKmsSettings(Section):
    key_id: str | None = None  # key id, ARN or alias/...
    region: str = "us-east-1"
    endpoint_url: str | None = None


class OpenBaoKmsSettings(Section):
    addr: str = "http://127.0.0.1:8200"
    token: SecretStr | None = None
    role_id: str | None = None  # AppRole login instead of a token
    secret_id: SecretStr | None = None
    mount: str = "transit"
    key: str = "strongroom-root"
    namespace: str | None = None
    ca_cert: Path | None = None


class Pkcs11KmsSettings(Section):
    library: str = "/usr/lib/softhsm/libsofthsm2.so"
    token_label: str = "strongroom"  # noqa: S105 - a label, not a secret
    pin: SecretStr | None = None
    key_label: str = "strongroom-root"
    create_key: bool = False  # generate the root key in the token if absent


class KmsSettings(Section):
    backend: KmsName = "local"  # STRONGROOM_KMS
    # Backends whose wrapped keys are still read (during `strongroom kms rewrap`).
    previous: list[KmsName] = Field(default_factory=list)
    master_key_file: Path = Path("./strongroom.key")  # the local backend's key
    # Remote KMS calls: per-attempt timeout, attempts, one deadline for all the
    # attempts of a call (a hung KMS costs a request this long), and the circuit
    # breaker (reset: the longest wait between probes while the KMS is down).
    timeout_seconds: float = Field(default=2.0, gt=0)
    retry_attempts: int = Field(default=3, ge=1)
    deadline_seconds: float = Field(default=2.0, gt=0)
    breaker_threshold: int = Field(default=5, ge=1)
    breaker_reset_seconds: float = Field(default=5.0, gt=0)
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
