"""Build the configured KMS backend by name."""

from __future__ import annotations

from strongroom.config import Settings
from strongroom.kms.interfaces import Kms
from strongroom.kms.local import LocalKms


def build_kms(settings: Settings) -> Kms:
    if settings.kms == "local":
        return LocalKms.from_file(settings.master_key_file)
    raise ValueError(f"unknown KMS backend: {settings.kms}")
