"""``Settings``: the nested sections, read from the environment by their flat names."""

from __future__ import annotations

from pathlib import Path as Path_
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

from strongroom.config.access import AccessSettings, AuthSettings, LimitsSettings
from strongroom.config.approvals import ApprovalsSettings
from strongroom.config.broker import BrokerSettings
from strongroom.config.credentials import ApiKeysSettings
from strongroom.config.idempotency import IdempotencySettings
from strongroom.config.kms import KmsSettings
from strongroom.config.legacy import FILE_SUFFIX, FLAT, Path, nest
from strongroom.config.mcp import McpSettings
from strongroom.config.pki import PkiSettings
from strongroom.config.secrets import SecretsSettings
from strongroom.config.sections import (
    AuditSettings,
    DatabaseSettings,
    KeysSettings,
    LoggingSettings,
    RedisSettings,
    SecurityEventsSettings,
    TelemetrySettings,
)
from strongroom.config.server import MtlsSettings, ServerSettings, TlsSettings
from strongroom.config.shares import ComplianceSettings, SharesSettings
from strongroom.config.usage import UsageSettings


class Settings(BaseSettings):
    """Every setting, by concern. Each component is given only its section."""

    # Unknown STRONGROOM_ variables and keywords are ignored (a removed setting such as
    # max_user_id_length does no harm when still set); the CLI warns about such variables
    # (legacy.unknown_variables).
    model_config = SettingsConfigDict(env_prefix="STRONGROOM_", extra="ignore")

    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    redis: RedisSettings = Field(default_factory=RedisSettings)
    kms: KmsSettings = Field(default_factory=KmsSettings)
    keys: KeysSettings = Field(default_factory=KeysSettings)
    secrets: SecretsSettings = Field(default_factory=SecretsSettings)
    access: AccessSettings = Field(default_factory=AccessSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    limits: LimitsSettings = Field(default_factory=LimitsSettings)
    audit: AuditSettings = Field(default_factory=AuditSettings)
    security_events: SecurityEventsSettings = Field(default_factory=SecurityEventsSettings)
    server: ServerSettings = Field(default_factory=ServerSettings)
    tls: TlsSettings = Field(default_factory=TlsSettings)
    mtls: MtlsSettings = Field(default_factory=MtlsSettings)
    telemetry: TelemetrySettings = Field(default_factory=TelemetrySettings)
    logging: LoggingSettings = Field(default_factory=LoggingSettings)
    shares: SharesSettings = Field(default_factory=SharesSettings)
    compliance: ComplianceSettings = Field(default_factory=ComplianceSettings)
    pki: PkiSettings = Field(default_factory=PkiSettings)
    api_keys: ApiKeysSettings = Field(default_factory=ApiKeysSettings)
    usage: UsageSettings = Field(default_factory=UsageSettings)
    broker: BrokerSettings = Field(default_factory=BrokerSettings)
    mcp: McpSettings = Field(default_factory=McpSettings)
    approvals: ApprovalsSettings = Field(default_factory=ApprovalsSettings)
    idempotency: IdempotencySettings = Field(default_factory=IdempotencySettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Keywords first (they win), then the environment; both nested before merging so
        # that a keyword overrides only the fields it names.
        return NestedInit(settings_cls, init_settings), FlatEnv(settings_cls)

    @model_validator(mode="after")
    def _client_ca(self) -> Settings:
        # Each of these made start-up fail before (build_client_certificates or, with
        # TLS, the server's SSL context); with no effect they are accepted as before.
        tls = self.tls
        if tls.client_ca_file is not None:
            return self
        if tls.client_auth != "none" and ("mtls" in self.auth.methods or tls.cert_file):
            raise ValueError(
                "STRONGROOM_TLS_CLIENT_CA_FILE is required when "
                f"STRONGROOM_TLS_CLIENT_AUTH={tls.client_auth}"
            )
        if self.mtls.trusted_proxies and client_certificates_used(tls, self.mtls, self.auth):
            raise ValueError(
                "STRONGROOM_TLS_CLIENT_CA_FILE is required with STRONGROOM_MTLS_TRUSTED_PROXIES "
                "(a forwarded certificate is verified again)"
            )
        return self

    if TYPE_CHECKING:
        # Keywords are sections or flat names (config/legacy.py), as the sources take them.
        def __init__(self, **values: Any) -> None: ...

    else:

        def __getattr__(self, name: str) -> Any:
            # Read-only flat names (settings.master_key_file) for code written before the
            # sections. Invisible to mypy, so typed code reads the sections. ``kms`` is
            # the section: its flat meaning is settings.kms.backend.
            path = FLAT.get(name)
            if path is None:
                return super().__getattr__(name)
            value: Any = self
            for part in path:
                value = getattr(value, part)
            return value


def client_certificates_used(tls: TlsSettings, mtls: MtlsSettings, auth: AuthSettings) -> bool:
    """Whether client certificates take part in authentication (access/mtls.py)."""
    if "mtls" not in auth.methods:
        return False
    required_for = any("mtls" in methods for methods in auth.required_for.values())
    required = tls.client_auth == "required" or "mtls" in auth.required
    return bool(mtls.principals or required or required_for or tls.client_auth != "none")


class NestedInit(PydanticBaseSettingsSource):
    """The keywords to ``Settings(...)``, flat names moved into their sections."""

    def __init__(self, settings_cls: type[BaseSettings], init: PydanticBaseSettingsSource):
        super().__init__(settings_cls)
        self._init = init

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # unused: __call__ reads the keywords whole

    def __call__(self) -> dict[str, Any]:
        return nest(self._init())


class FlatEnv(EnvSettingsSource):
    """Each ``STRONGROOM_<flat name>`` variable, decoded as its nested field would be
    (JSON for lists, mappings and models), placed in its section; or, when it is unset,
    the content of the file ``STRONGROOM_<flat name>_FILE`` names (one trailing newline
    removed), so secrets come from mounted files rather than the environment. Nothing
    else is read."""

    def __call__(self) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for name, path in FLAT.items():
            key = f"{self.env_prefix}{name}"
            raw = self.env_vars.get(key if self.case_sensitive else key.lower())
            if raw is None:
                raw = self._from_file(key + FILE_SUFFIX)
            if raw is None:
                continue
            try:
                found[name] = self.prepare_field_value(name, field_at(path), raw, False)
            except ValueError:
                raise SettingsError(f"STRONGROOM_{name.upper()} is not valid JSON") from None
        return nest(found)

    def _from_file(self, key: str) -> str | None:
        path = self.env_vars.get(key if self.case_sensitive else key.lower())
        if path is None:
            return None
        try:
            text = Path_(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            raise SettingsError(
                f"{key.upper()}: cannot read the file it names ({reason})"
            ) from None
        return text.removesuffix("\n").removesuffix("\r")


def field_at(path: Path) -> FieldInfo:
    model: type[BaseModel] = Settings
    for part in path[:-1]:
        annotation = model.model_fields[part].annotation
        assert isinstance(annotation, type) and issubclass(annotation, BaseModel)
        model = annotation
    return model.model_fields[path[-1]]
