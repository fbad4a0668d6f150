"""Settings, by concern, read from the environment (prefix ``STRONGROOM_``) by the
entry points only; each component is given its section. See config/legacy.py for the
environment names."""

from strongroom.config.access import (
    DEFAULT_TENANT,
    AccessSettings,
    AuthMethod,
    AuthSettings,
    LimitsSettings,
    OidcIssuer,
    OidcSettings,
)
from strongroom.config.approvals import ApprovalsSettings
from strongroom.config.broker import BrokerSettings
from strongroom.config.credentials import ApiKeysSettings, RotationHook
from strongroom.config.errors import describe_error, describe_error_line
from strongroom.config.idempotency import IdempotencySettings
from strongroom.config.kms import (
    AwsKmsSettings,
    KmsName,
    KmsSettings,
    OpenBaoKmsSettings,
    Pkcs11KmsSettings,
)
from strongroom.config.legacy import unknown_variables
from strongroom.config.mcp import McpSettings
from strongroom.config.pki import (
    CertificateAuthoritySettings,
    CertificateMonitorSettings,
    PkiSettings,
)
from strongroom.config.secrets import SecretsSettings
from strongroom.config.sections import (
    AuditAnchorSettings,
    AuditSettings,
    DatabaseSettings,
    KeyCacheSettings,
    KeyFeedSettings,
    KeysSettings,
    LoggingSettings,
    RedisSettings,
    SchedulerSettings,
    SecurityEventsSettings,
    TelemetrySettings,
)
from strongroom.config.server import MtlsSettings, ServerSettings, TlsSettings
from strongroom.config.settings import Settings, client_certificates_used
from strongroom.config.shares import ComplianceSettings, SharesSettings
from strongroom.config.usage import UsageSettings

__all__ = [
    "DEFAULT_TENANT",
    "AccessSettings",
    "ApiKeysSettings",
    "ApprovalsSettings",
    "AuditAnchorSettings",
    "AuditSettings",
    "AuthMethod",
    "AuthSettings",
    "AwsKmsSettings",
    "BrokerSettings",
    "CertificateAuthoritySettings",
    "CertificateMonitorSettings",
    "ComplianceSettings",
    "DatabaseSettings",
    "IdempotencySettings",
    "KeyCacheSettings",
    "KeyFeedSettings",
    "KeysSettings",
    "KmsName",
    "KmsSettings",
    "LimitsSettings",
    "LoggingSettings",
    "McpSettings",
    "MtlsSettings",
    "OidcIssuer",
    "OidcSettings",
    "OpenBaoKmsSettings",
    "Pkcs11KmsSettings",
    "PkiSettings",
    "RedisSettings",
    "RotationHook",
    "SchedulerSettings",
    "SecretsSettings",
    "SecurityEventsSettings",
    "ServerSettings",
    "Settings",
    "SharesSettings",
    "TelemetrySettings",
    "TlsSettings",
    "UsageSettings",
    "client_certificates_used",
    "describe_error",
    "describe_error_line",
    "unknown_variables",
]
