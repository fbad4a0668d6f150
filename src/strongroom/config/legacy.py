"""The flat names: every setting's environment variable (``STRONGROOM_`` + name) and
its keyword to ``Settings(...)``, mapped to its place in the nested sections.

``STRONGROOM_KMS`` names the backend while ``kms`` is also the KMS section: a plain
string given for ``kms`` is the backend, a mapping or ``KmsSettings`` is the section.
The flat names are the only environment names (no ``STRONGROOM_KMS__...``): they stay
what they always were, and a nested delimiter could not tell the two ``kms`` apart.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

Path = tuple[str, ...]

FLAT: dict[str, Path] = {
    "database_url": ("database", "url"),
    "redis_url": ("redis", "url"),
    "kms": ("kms", "backend"),
    "kms_previous": ("kms", "previous"),
    "master_key_file": ("kms", "master_key_file"),
    "kms_timeout_seconds": ("kms", "timeout_seconds"),
    "kms_retry_attempts": ("kms", "retry_attempts"),
    "kms_deadline_seconds": ("kms", "deadline_seconds"),
    "kms_breaker_threshold": ("kms", "breaker_threshold"),
    "kms_breaker_reset_seconds": ("kms", "breaker_reset_seconds"),
    "kms_aws_key_id": ("kms", "aws", "key_id"),
    "kms_aws_region": ("kms", "aws", "region"),
    "kms_aws_endpoint_url": ("kms", "aws", "endpoint_url"),
    "kms_openbao_addr": ("kms", "openbao", "addr"),
    "kms_openbao_token": ("kms", "openbao", "token"),
    "kms_openbao_role_id": ("kms", "openbao", "role_id"),
    "kms_openbao_secret_id": ("kms", "openbao", "secret_id"),
    "kms_openbao_mount": ("kms", "openbao", "mount"),
    "kms_openbao_key": ("kms", "openbao", "key"),
    "kms_openbao_namespace": ("kms", "openbao", "namespace"),
    "kms_openbao_ca_cert": ("kms", "openbao", "ca_cert"),
    "kms_pkcs11_library": ("kms", "pkcs11", "library"),
    "kms_pkcs11_token_label": ("kms", "pkcs11", "token_label"),
    "kms_pkcs11_pin": ("kms", "pkcs11", "pin"),
    "kms_pkcs11_key_label": ("kms", "pkcs11", "key_label"),
    "kms_pkcs11_create_key": ("kms", "pkcs11", "create_key"),
    "host": ("server", "host"),
    "port": ("server", "port"),
    "workers": ("server", "workers"),
    "max_body_bytes": ("server", "max_body_bytes"),
    "max_in_flight": ("server", "max_in_flight"),
    "max_queue": ("server", "max_queue"),
    "max_queue_wait_seconds": ("server", "max_queue_wait_seconds"),
    "cors_allow_origins": ("server", "cors_allow_origins"),
    "ciphertext_prefix": ("keys", "ciphertext_prefix"),
    "default_key_type": ("keys", "default_key_type"),
    "default_rotation_days": ("keys", "default_rotation_days"),
    "deletion_window_days": ("keys", "deletion_window_days"),
    "min_deletion_window_days": ("keys", "min_deletion_window_days"),
    "max_items_per_batch": ("keys", "max_items_per_batch"),
    "max_item_bytes": ("keys", "max_item_bytes"),
    "max_context_length": ("keys", "max_context_length"),
    "key_statement_ttl_seconds": ("keys", "statement_ttl_seconds"),
    "private_key_cache_size": ("keys", "cache", "private_key_size"),
    "private_key_cache_ttl_seconds": ("keys", "cache", "private_key_ttl_seconds"),
    "data_key_cache_size": ("keys", "cache", "data_key_size"),
    "metadata_cache_ttl_seconds": ("keys", "cache", "metadata_ttl_seconds"),
    "key_feed_interval_seconds": ("keys", "feed", "interval_seconds"),
    "key_feed_window_seconds": ("keys", "feed", "window_seconds"),
    "key_feed_max_staleness_seconds": ("keys", "feed", "max_staleness_seconds"),
    "scheduler_enabled": ("keys", "scheduler", "enabled"),
    "scheduler_interval_seconds": ("keys", "scheduler", "interval_seconds"),
    "access_key_cache_ttl_seconds": ("access", "key_cache_ttl_seconds"),
    "access_key_rotation_grace_seconds": ("access", "key_rotation_grace_seconds"),
    "access_key_usage_flush_seconds": ("access", "key_usage_flush_seconds"),
    "audit_flush_interval_ms": ("audit", "flush_interval_ms"),
    "audit_heartbeat_seconds": ("audit", "heartbeat_seconds"),
    "audit_checkpoint_records": ("audit", "checkpoint_records"),
    "audit_checkpoint_seconds": ("audit", "checkpoint_seconds"),
    "audit_sensitive_identifiers": ("audit", "sensitive_identifiers"),
    "audit_retention_days": ("audit", "retention_days"),
    "audit_anchor_file": ("audit", "anchors", "file"),
    "audit_anchor_webhook_url": ("audit", "anchors", "webhook_url"),
    "audit_anchor_webhook_secret": ("audit", "anchors", "webhook_secret"),
    "log_level": ("logging", "level"),
    "security_auth_failures_per_minute": ("security_events", "auth_failures_per_minute"),
    "security_auth_failures_global_per_minute": (
        "security_events",
        "auth_failures_global_per_minute",
    ),
    "security_bulk_window_seconds": ("security_events", "bulk_window_seconds"),
    "security_bulk_min_users": ("security_events", "bulk_min_users"),
    "security_bulk_factor": ("security_events", "bulk_factor"),
    "security_webhook_url": ("security_events", "webhook_url"),
    "secrets_max_value_bytes": ("secrets", "max_value_bytes"),
    "secrets_default_max_versions": ("secrets", "default_max_versions"),
    "secrets_reminder_days": ("secrets", "reminder_days"),
    "secrets_reminders_enabled": ("secrets", "reminders_enabled"),
    "secrets_reminder_interval_seconds": ("secrets", "reminder_interval_seconds"),
    "secrets_read_cache_ttl_seconds": ("secrets", "read_cache_ttl_seconds"),
    "secrets_read_cache_size": ("secrets", "read_cache_size"),
    "api_keys_rotation_hooks": ("api_keys", "rotation_hooks"),
    "api_keys_previous_overlap_seconds": ("api_keys", "previous_overlap_seconds"),
    "api_keys_state_cache_seconds": ("api_keys", "state_cache_seconds"),
    "api_keys_max_value_bytes": ("api_keys", "max_value_bytes"),
    "api_keys_reminder_days": ("api_keys", "reminder_days"),
    "api_keys_reminders_enabled": ("api_keys", "reminders_enabled"),
    "api_keys_reminder_interval_seconds": ("api_keys", "reminder_interval_seconds"),
    "security_webhook_secret": ("security_events", "webhook_secret"),
    "otel_endpoint": ("telemetry", "otel_endpoint"),
    "otel_service_name": ("telemetry", "otel_service_name"),
    "otel_sample_ratio": ("telemetry", "otel_sample_ratio"),
    "sentry_dsn": ("telemetry", "sentry_dsn"),
    "sentry_environment": ("telemetry", "sentry_environment"),
    "rate_limit_enabled": ("limits", "enabled"),
    "rate_limit_requests_per_minute": ("limits", "requests_per_minute"),
    "rate_limit_items_per_minute": ("limits", "items_per_minute"),
    "rate_limit_unauthenticated_per_minute": ("limits", "unauthenticated_per_minute"),
    "rate_limit_failed_auth_per_minute": ("limits", "failed_auth_per_minute"),
    "rate_limit_decrypt_users_per_window": ("limits", "decrypt_users_per_window"),
    "rate_limit_decrypt_users_window_seconds": ("limits", "decrypt_users_window_seconds"),
    "rate_limit_role_requests_per_minute": ("limits", "role_requests_per_minute"),
    "rate_limit_principal_requests_per_minute": ("limits", "principal_requests_per_minute"),
    "trusted_proxies": ("server", "trusted_proxies"),
    "tls_cert_file": ("tls", "cert_file"),
    "tls_key_file": ("tls", "key_file"),
    "tls_client_ca_file": ("tls", "client_ca_file"),
    "tls_client_auth": ("tls", "client_auth"),
    "mtls_principals": ("mtls", "principals"),
    "mtls_trusted_proxies": ("mtls", "trusted_proxies"),
    "mtls_forwarded_header": ("mtls", "forwarded_header"),
    "auth_methods": ("auth", "methods"),
    "auth_required": ("auth", "required"),
    "auth_required_for": ("auth", "required_for"),
    "oidc_issuers": ("auth", "oidc", "issuers"),
    "oidc_jwks_min_refresh_seconds": ("auth", "oidc", "jwks_min_refresh_seconds"),
    "oidc_jwks_ttl_seconds": ("auth", "oidc", "jwks_ttl_seconds"),
    "oidc_jwks_timeout_seconds": ("auth", "oidc", "jwks_timeout_seconds"),
    "oidc_revocation_refresh_seconds": ("auth", "oidc", "revocation_refresh_seconds"),
    "fips": ("compliance", "fips"),
    "share_max_ttl_seconds": ("shares", "max_ttl_seconds"),
    "share_max_views": ("shares", "max_views"),
    "share_max_value_bytes": ("shares", "max_value_bytes"),
    "share_passphrase_attempts": ("shares", "passphrase_attempts"),
    "share_argon2_time_cost": ("shares", "argon2_time_cost"),
    "share_argon2_memory_kib": ("shares", "argon2_memory_kib"),
    "share_argon2_parallelism": ("shares", "argon2_parallelism"),
    "share_pbkdf2_iterations": ("shares", "pbkdf2_iterations"),
    "share_purge_interval_seconds": ("shares", "purge_interval_seconds"),
    "share_keep_ended_days": ("shares", "keep_ended_days"),
    "pki_max_import_bytes": ("pki", "max_import_bytes"),
    "pki_monitor_enabled": ("pki", "monitor", "enabled"),
    "pki_monitor_interval_seconds": ("pki", "monitor", "interval_seconds"),
    "pki_expiry_days": ("pki", "monitor", "expiry_days"),
    "pki_expiry_fractions": ("pki", "monitor", "expiry_fractions"),
    "pki_metrics_max_series": ("pki", "monitor", "metrics_max_series"),
    "pki_ca_enabled": ("pki", "ca", "enabled"),
    "pki_crl_validity_hours": ("pki", "ca", "crl_validity_hours"),
    "pki_max_ca_days": ("pki", "ca", "max_ca_days"),
    "usage_flush_interval_seconds": ("usage", "flush_interval_seconds"),
    "usage_flush_max_uses": ("usage", "flush_max_uses"),
    "usage_retention_days": ("usage", "retention_days"),
    "usage_purge_interval_seconds": ("usage", "purge_interval_seconds"),
    "usage_recent_sources": ("usage", "recent_sources"),
    "usage_anomaly_enabled": ("usage", "anomaly_enabled"),
    "usage_disabled_rules": ("usage", "disabled_rules"),
    "usage_auto_block": ("usage", "auto_block"),
    "usage_episode_quiet_seconds": ("usage", "episode_quiet_seconds"),
    "usage_rate_window_seconds": ("usage", "rate_window_seconds"),
    "usage_rate_factor": ("usage", "rate_factor"),
    "usage_rate_min_uses": ("usage", "rate_min_uses"),
    "usage_burst_window_seconds": ("usage", "burst_window_seconds"),
    "usage_upstream_auth_threshold": ("usage", "upstream_auth_threshold"),
    "usage_error_threshold": ("usage", "error_threshold"),
    "usage_off_hours_days": ("usage", "off_hours_days"),
    "usage_off_hours_min_uses": ("usage", "off_hours_min_uses"),
    "usage_off_hours_max_share": ("usage", "off_hours_max_share"),
    "broker_max_request_bytes": ("broker", "max_request_bytes"),
    "broker_max_response_bytes": ("broker", "max_response_bytes"),
    "broker_timeout_seconds": ("broker", "timeout_seconds"),
    "broker_connect_timeout_seconds": ("broker", "connect_timeout_seconds"),
    "broker_max_connections_per_upstream": ("broker", "max_connections_per_upstream"),
    "broker_ca_file": ("broker", "ca_file"),
    "mcp_enabled": ("mcp", "enabled"),
    "mcp_resource_url": ("mcp", "resource_url"),
    "mcp_authorization_servers": ("mcp", "authorization_servers"),
    "mcp_allowed_hosts": ("mcp", "allowed_hosts"),
    "mcp_max_body_bytes": ("mcp", "max_body_bytes"),
    "idempotency_enabled": ("idempotency", "enabled"),
    "idempotency_ttl_seconds": ("idempotency", "ttl_seconds"),
    "idempotency_in_flight_seconds": ("idempotency", "in_flight_seconds"),
    "idempotency_purge_interval_seconds": ("idempotency", "purge_interval_seconds"),
    "approvals_threshold": ("approvals", "threshold"),
    "approvals_duration_cap_seconds": ("approvals", "duration_cap_seconds"),
    "approvals_second_approver": ("approvals", "second_approver"),
    "approvals_pending_expiry_seconds": ("approvals", "pending_expiry_seconds"),
    "approvals_session_max_seconds": ("approvals", "session_max_seconds"),
    "approvals_business_start_hour": ("approvals", "business_start_hour"),
    "approvals_business_end_hour": ("approvals", "business_end_hour"),
    "approvals_new_tool_seconds": ("approvals", "new_tool_seconds"),
    "approvals_expire_interval_seconds": ("approvals", "expire_interval_seconds"),
    "approvals_approval_url": ("approvals", "approval_url"),
    "approvals_audience": ("approvals", "audience"),
}
ENV_NAMES: dict[Path, str] = {path: f"STRONGROOM_{name.upper()}" for name, path in FLAT.items()}


def nest(values: dict[str, Any]) -> dict[str, Any]:
    """``values`` with every flat name moved to its place in the sections. Nested values
    pass as they are; a flat name wins over the same field given nested."""
    out: dict[str, Any] = {}
    flat: list[tuple[Path, Any]] = []
    for key, value in values.items():
        if key in FLAT and (key != "kms" or isinstance(value, str)):
            flat.append((FLAT[key], value))
        else:
            out[key] = value
    for path, value in flat:
        node = out
        for part in path[:-1]:
            # Copied on the way down: the caller's mappings are never changed.
            node[part] = dict(_as_dict(node.get(part, {})))
            node = node[part]
        node[path[-1]] = value
    return out


def _as_dict(value: Any) -> Any:
    # A section given as a model merges with flat names as a mapping does.
    return value.model_dump(exclude_unset=True) if isinstance(value, BaseModel) else value


# Variables with the prefix that the project reads elsewhere (the test suite's switches).
NOT_SETTINGS_PREFIXES = ("STRONGROOM_TEST_",)
# The client's configuration (clients/python, `strongroom client`), not the server's.
CLIENT_VARIABLES = frozenset(
    f"STRONGROOM_{name}"
    for name in (
        "ADDR",
        "API_KEY",
        "TOKEN",
        "CLIENT_CERT",
        "CLIENT_KEY",
        "CA_CERT",
        "TENANT",
        "SERVICE_KEY",
    )
)


# STRONGROOM_<NAME>_FILE: the setting's value is the content of that file (container
# secrets: /run/secrets/..., Kubernetes secret volumes), when STRONGROOM_<NAME> is unset.
FILE_SUFFIX = "_FILE"


def unknown_variables(environ: Mapping[str, str]) -> list[str]:
    """One warning line per ``STRONGROOM_`` variable that names no setting (the settings
    ignore them, so a misspelt name would otherwise change nothing, silently)."""
    known = {f"STRONGROOM_{name.upper()}" for name in FLAT}
    known |= {f"{name}{FILE_SUFFIX}" for name in known}  # the value read from a file
    lines = []
    for var in sorted(environ):
        name = var.upper()
        if not name.startswith("STRONGROOM_") or name in known:
            continue
        if name.startswith(NOT_SETTINGS_PREFIXES) or name in CLIENT_VARIABLES:
            continue
        close = difflib.get_close_matches(name, known, n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        lines.append(f"warning: {var} is not a setting and is ignored{hint}")
    return lines
