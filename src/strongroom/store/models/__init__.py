"""ORM models, one module per domain; every model is re-exported here, and importing
this package registers them all on ``Base.metadata`` (what Alembic compares)."""

from strongroom.store.models.access import AccessKey, CustomRole, RevokedToken
from strongroom.store.models.approvals import (
    ApprovalPageSession,
    McpDecision,
    McpPolicy,
    McpProxyToken,
    McpRequest,
    McpSession,
    McpTool,
)
from strongroom.store.models.audit import AuditCheckpoint, AuditRecord, AuditSegment
from strongroom.store.models.base import Base, BigId, UTCDateTime
from strongroom.store.models.cluster import ClusterCounter, ClusterLease
from strongroom.store.models.credentials import ApiKey, ApiKeyValue, Project
from strongroom.store.models.datakeys import NoticeSent, TenantDataKey
from strongroom.store.models.idempotency import IdempotencyKey
from strongroom.store.models.keys import (
    KeyMaterial,
    KeyTombstone,
    UserKey,
    UserKeyHistory,
    UserKeyVersion,
)
from strongroom.store.models.pki import (
    Certificate,
    CertificateAuthority,
    CertificateKey,
    CertificateRole,
    CertificateSan,
)
from strongroom.store.models.secrets import Secret, SecretMeta, SecretValue, SecretVersion
from strongroom.store.models.service import ServiceKey
from strongroom.store.models.shares import Share, ShareAccess
from strongroom.store.models.usage import ApiKeyUsageHour, ApiKeyUsageSource

__all__ = [
    "AccessKey",
    "ApiKey",
    "ApiKeyUsageHour",
    "ApiKeyUsageSource",
    "ApiKeyValue",
    "ApprovalPageSession",
    "AuditCheckpoint",
    "AuditRecord",
    "AuditSegment",
    "Base",
    "BigId",
    "Certificate",
    "CertificateAuthority",
    "CertificateKey",
    "CertificateRole",
    "CertificateSan",
    "ClusterCounter",
    "ClusterLease",
    "CustomRole",
    "IdempotencyKey",
    "KeyMaterial",
    "KeyTombstone",
    "McpDecision",
    "McpPolicy",
    "McpProxyToken",
    "McpRequest",
    "McpSession",
    "McpTool",
    "NoticeSent",
    "Project",
    "RevokedToken",
    "Secret",
    "SecretMeta",
    "SecretValue",
    "SecretVersion",
    "ServiceKey",
    "Share",
    "ShareAccess",
    "TenantDataKey",
    "UTCDateTime",
    "UserKey",
    "UserKeyHistory",
    "UserKeyVersion",
]
