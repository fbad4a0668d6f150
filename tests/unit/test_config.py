"""Settings: every flat STRONGROOM_ name lands in its nested field; flat keywords keep
working; backend requirements are checked at load and described in one line each."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, SecretStr, ValidationError
from pydantic_settings import SettingsError

from strongroom.config import KmsSettings, Settings, describe_error
from strongroom.config.legacy import FLAT

# Values that differ from every default and, together, form a valid configuration.
SPECIAL: dict[str, tuple[str, Any]] = {
    "kms": ("pkcs11", "pkcs11"),
    "kms_previous": ('["local", "aws", "openbao"]', ["local", "aws", "openbao"]),
    "ciphertext_prefix": ("abc", "abc"),
    "log_level": ("debug", "DEBUG"),
    "cors_allow_origins": ('["https://app.example.com"]', ["https://app.example.com"]),
    "audit_sensitive_identifiers": ('["userId"]', ["userId"]),
    "rate_limit_role_requests_per_minute": ('{"admin": 5}', {"admin": 5}),
    "rate_limit_principal_requests_per_minute": ('{"ak_1": 6}', {"ak_1": 6}),
    "tls_client_auth": ("optional", "optional"),
    "mtls_principals": ('{"dns:a.example": {"tenant": "t"}}', {"dns:a.example": {"tenant": "t"}}),
    "mtls_trusted_proxies": ('["10.0.0.0/8"]', ["10.0.0.0/8"]),
    "trusted_proxies": ('["10.1.2.3", "fd00::/8"]', ["10.1.2.3", "fd00::/8"]),
    "auth_methods": ('["api_key", "mtls"]', ["api_key", "mtls"]),
    "auth_required": ('["mtls"]', ["mtls"]),
    "auth_required_for": ('{"keys:decrypt": ["mtls"]}', {"keys:decrypt": ["mtls"]}),
    "otel_sample_ratio": ("0.25", 0.25),
    "default_key_type": ("aes256-gcm", "aes256-gcm"),
    "secrets_reminder_days": ("[14, 60, 2]", [60, 14, 2]),
    "pki_expiry_days": ("[7, 60]", [60, 7]),
    "pki_expiry_fractions": ("[0.1, 0.25]", [0.25, 0.1]),
    "api_keys_reminder_days": ("[14, 60, 2]", [60, 14, 2]),
    "api_keys_rotation_hooks": ("{}", {}),
    "api_keys_state_cache_seconds": ("0.5", 0.5),
    "usage_disabled_rules": ('["off_hours"]', ["off_hours"]),
    "usage_auto_block": ('["denied_host", "rate"]', ["denied_host", "rate"]),
    "usage_off_hours_max_share": ("0.02", 0.02),
    "mcp_resource_url": ("https://sr.example/mcp", "https://sr.example/mcp"),
    "mcp_authorization_servers": ('["https://idp"]', ["https://idp"]),
    "mcp_allowed_hosts": ('["sr.internal:*"]', ["sr.internal:*"]),
}
ISSUER = {"issuer": "https://idp", "jwks_uri": "https://idp/jwks", "audiences": ["sr"]}


def sample(name: str, default: Any) -> tuple[str, Any]:
    """(environment value, expected field value) for a scalar setting."""
    if name in SPECIAL:
        return SPECIAL[name]
    if isinstance(default, bool):
        return str(not default).lower(), not default
    if isinstance(default, int | float):
        return str(default + 1), default + 1
    if isinstance(default, Path) or name.endswith(("_file", "_cert")):
        return f"/tmp/{name}", Path(f"/tmp/{name}")
    return f"x{name}", f"x{name}"


def field_value(settings: Settings, path: tuple[str, ...]) -> Any:
    value: Any = settings
    for part in path:
        value = getattr(value, part)
    return value.get_secret_value() if isinstance(value, SecretStr) else value


def test_every_flat_environment_name_lands_in_its_nested_field(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    defaults = Settings()
    expected: dict[str, Any] = {}
    for name, path in FLAT.items():
        raw, value = sample(name, field_value(defaults, path))
        if name == "oidc_issuers":
            raw, value = json.dumps([ISSUER]), [ISSUER["issuer"]]
        monkeypatch.setenv(f"STRONGROOM_{name.upper()}", raw)
        expected[name] = value
    monkeypatch.setenv("STRONGROOM_NOT_A_SETTING", "ignored as before")
    monkeypatch.setenv("STRONGROOM_MAX_USER_ID_LENGTH", "5")  # removed: ignored too
    settings = Settings()
    for name, path in FLAT.items():
        got = field_value(settings, path)
        if name == "oidc_issuers":
            got = [i.issuer for i in got]
        assert got == expected[name], name
        if name != "kms":  # the flat read of kms is settings.kms.backend
            assert getattr(settings, name) == field_value(settings, path) or name.endswith(
                ("_token", "_secret_id", "_pin")
            ), name


def test_environment_names_are_case_insensitive(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("strongroom_port", "9000")
    assert Settings().server.port == 9000


def test_flat_keywords_and_nested_sections(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STRONGROOM_KMS_TIMEOUT_SECONDS", "9")
    s = Settings(database_url="sqlite://", kms_previous=["local"], scheduler_enabled=False)
    assert s.database.url == "sqlite://" and s.kms.previous == ["local"]
    assert not s.keys.scheduler.enabled and s.kms.timeout_seconds == 9  # env kept
    nested = Settings(kms=KmsSettings(backend="local", retry_attempts=7), kms_previous=["local"])
    assert nested.kms.retry_attempts == 7 and nested.kms.previous == ["local"]
    assert Settings(kms={"backend": "local"}, kms_retry_attempts=4).kms.retry_attempts == 4
    assert Settings(kms="local").kms.backend == "local"
    assert Settings(max_user_id_length=5, unknown=1).server.port == 8080  # ignored


def test_a_keyword_overrides_only_the_field_it_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STRONGROOM_KMS", "aws")
    monkeypatch.setenv("STRONGROOM_KMS_AWS_KEY_ID", "alias/sr")
    s = Settings(kms_aws_region="eu-west-1")
    assert (s.kms.backend, s.kms.aws.key_id, s.kms.aws.region) == ("aws", "alias/sr", "eu-west-1")


@pytest.mark.parametrize(
    ("values", "line"),
    [
        ({"kms": "aws"}, "error: STRONGROOM_KMS_AWS_KEY_ID is required when STRONGROOM_KMS=aws"),
        (
            {"kms_previous": ["aws"]},
            "error: STRONGROOM_KMS_AWS_KEY_ID is required when STRONGROOM_KMS_PREVIOUS "
            "includes aws",
        ),
        (
            {"kms": "openbao", "kms_openbao_role_id": "r"},
            "error: STRONGROOM_KMS_OPENBAO_TOKEN (or STRONGROOM_KMS_OPENBAO_ROLE_ID and "
            "STRONGROOM_KMS_OPENBAO_SECRET_ID) is required when STRONGROOM_KMS=openbao",
        ),
        (
            {"kms": "pkcs11"},
            "error: STRONGROOM_KMS_PKCS11_PIN is required when STRONGROOM_KMS=pkcs11",
        ),
        (
            {"tls_client_auth": "required"},
            "error: STRONGROOM_TLS_CLIENT_CA_FILE is required when "
            "STRONGROOM_TLS_CLIENT_AUTH=required",
        ),
        (
            {"mtls_trusted_proxies": ["10.0.0.1"], "mtls_principals": {"dns:a": {"tenant": "t"}}},
            "error: STRONGROOM_TLS_CLIENT_CA_FILE is required with STRONGROOM_MTLS_TRUSTED_PROXIES "
            "(a forwarded certificate is verified again)",
        ),
        (
            {"port": "eighty"},
            "error: STRONGROOM_PORT: Input should be a valid integer, unable to "
            "parse string as an integer",
        ),
        (
            {"log_level": "loud"},
            "error: STRONGROOM_LOG_LEVEL: Input should be 'DEBUG', 'INFO', 'WARNING', 'ERROR' "
            "or 'CRITICAL'",
        ),
        (
            {"kms_timeout_seconds": 0},
            "error: STRONGROOM_KMS_TIMEOUT_SECONDS: Input should be greater than 0",
        ),
        (
            {"oidc_issuers": [{"issuer": "i", "jwks_uri": "https://i/jwks"}]},
            "error: STRONGROOM_OIDC_ISSUERS[0]: an issuer needs audiences (or cognito with "
            "client_ids)",
        ),
    ],
)
def test_bad_settings_are_one_line_each(values: dict[str, Any], line: str) -> None:
    with pytest.raises(ValidationError) as exc:
        Settings(**values)
    assert describe_error(exc.value) == line


@pytest.mark.parametrize(
    "values",
    [
        # Accepted before and still: these settings have no effect here.
        {"tls_client_auth": "optional", "auth_methods": ["api_key"]},
        {"mtls_trusted_proxies": ["10.0.0.1"]},
        {"tls_cert_file": "/tmp/combined.pem"},
        {"kms": "openbao", "kms_openbao_role_id": "r", "kms_openbao_secret_id": "s"},
    ],
)
def test_what_started_before_still_loads(values: dict[str, Any]) -> None:
    Settings(**values)


@pytest.mark.parametrize("typed", ["warning", " Warning ", "WARNING"])
def test_log_levels_are_read_in_any_case(typed: str) -> None:
    # A lowercase level once reached the logging module as is and crashed `serve`.
    assert Settings(log_level=typed).logging.level == "WARNING"


def test_bad_json_in_the_environment_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STRONGROOM_OIDC_ISSUERS", "[not json")
    with pytest.raises(SettingsError) as exc:
        Settings()
    assert describe_error(exc.value) == "error: STRONGROOM_OIDC_ISSUERS is not valid JSON"


def test_sections_refuse_unknown_names() -> None:
    with pytest.raises(ValidationError):
        Settings(kms={"backnd": "aws"})
    assert isinstance(Settings().kms, BaseModel)
