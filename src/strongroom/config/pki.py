"""Settings of the certificate domain (pki/): import limits, expiry monitor, internal CA."""

from __future__ import annotations

from pydantic import Field, field_validator

from strongroom.config.base import Section


class CertificateMonitorSettings(Section):
    """The expiry monitor (pki/monitor.py): alerts before and at expiry, and for chains
    whose issuer expires before the leaf, once per certificate and threshold."""

    enabled: bool = True
    """Run the monitor as the scheduled job ``certificates.expiry`` (once per interval
    across the cluster, where the scheduler runs)."""
    interval_seconds: float = Field(default=3600.0, gt=0)
    """How often the monitor looks at every certificate's expiry."""
    expiry_days: list[int] = Field(default_factory=lambda: [30, 14, 7, 1])
    """Alert when a certificate has at most this many days left (one alert per value)."""
    expiry_fractions: list[float] = Field(default_factory=list)
    """Alert when at most this fraction of a certificate's lifetime is left (e.g. 0.1:
    the last tenth), beside ``expiry_days``."""
    metrics_max_series: int = Field(default=1000, ge=0)
    """Certificates exported in the gauge ``strongroom_certificate_not_after_timestamp_seconds``
    (the soonest to expire first); 0 exports none."""

    @field_validator("expiry_days")
    @classmethod
    def _days(cls, days: list[int]) -> list[int]:
        if any(d < 0 or d > 3650 for d in days):
            raise ValueError("expiry days must be between 0 and 3650")
        return sorted(set(days), reverse=True)

    @field_validator("expiry_fractions")
    @classmethod
    def _fractions(cls, fractions: list[float]) -> list[float]:
        if any(not 0 < f < 1 for f in fractions):
            raise ValueError("expiry fractions must be between 0 and 1 (exclusive)")
        return sorted(set(fractions), reverse=True)


class CertificateAuthoritySettings(Section):
    """The optional internal CA (pki/authority.py): off unless enabled."""

    enabled: bool = False
    """Let tenants create CAs, roles, and issue and revoke certificates (off: those
    routes answer 404 ``PKI008``)."""
    crl_validity_hours: float = Field(default=24.0, gt=0)
    """``nextUpdate`` of a CRL: how long relying parties may cache it."""
    max_ca_days: int = Field(default=3650, ge=1)
    """Longest lifetime of a CA created here."""


class PkiSettings(Section):
    """Certificates (pki/): inventory, expiry monitoring, internal CA."""

    max_import_bytes: int = Field(default=262144, ge=1024)
    """Largest certificate bundle an import accepts (bytes, decoded; more: 413 ``PKI003``)."""
    monitor: CertificateMonitorSettings = Field(default_factory=CertificateMonitorSettings)
    ca: CertificateAuthoritySettings = Field(default_factory=CertificateAuthoritySettings)
