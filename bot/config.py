"""Settings: environment variables and an optional YAML file, validated once at start.

Read by `cli` and handed explicitly to `app.create_app` and everything below it; nothing
reads the environment at import time. The environment wins over the file, so a secret
can stay out of the file. Names are in DESIGN.md and docs/configuration.md. The sections
(`slack`, `drift`, `actions`, ...) are models of their own in `bot.config_sections`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, PydanticBaseSettingsSource, SettingsConfigDict

from bot.config_names import format_errors
from bot.config_sections.actions import ActionSettings
from bot.config_sections.drift import DriftSettings
from bot.config_sections.service import ApiSettings, DatabaseSettings
from bot.config_sections.slack import SlackSettings
from bot.config_sections.triage import CollectorSettings, DiagnosisSettings
from bot.config_sections.units import MIB
from bot.model.target import TargetLabels


class ConfigError(Exception):
    """The configuration is invalid; the message names the key and the problem."""


def _split_csv(value: Any) -> Any:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class Settings(BaseSettings):
    """Every setting of the service."""

    model_config = SettingsConfigDict(
        env_prefix="TRIAGE_BOT_",
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
        populate_by_name=True,
    )

    webhook_token: SecretStr | None = None
    api_token: SecretStr | None = None
    api: ApiSettings = ApiSettings()
    data_dir: Path = Path("var")
    max_body_bytes: int = Field(default=8 * MIB, gt=0)
    # Back-pressure: memory held by notifications waiting for triage, and disk kept free.
    queue_memory_mib: float = Field(default=64.0, gt=0)
    min_free_disk_mib: float = Field(default=100.0, ge=0)
    triage_workers: int = Field(default=4, gt=0, le=64)
    triage_yield_seconds: float = Field(default=0.1, ge=0)
    dedup_window_seconds: float = Field(default=600.0, ge=0)
    shutdown_timeout_seconds: float = Field(default=20.0, ge=0)
    # Slow clients: a request's headers must arrive within this of the connection (or of
    # the previous answer on a kept-alive one), its body within `body_timeout_seconds`.
    header_timeout_seconds: float = Field(default=30.0, gt=0)
    body_timeout_seconds: float = Field(default=10.0, gt=0)
    sqlite_synchronous: Literal["normal", "full"] = "full"
    # postgresql://...: the store shared by several replicas (bot/store/postgres); unset: SQLite.
    database_url: SecretStr | None = None
    database: DatabaseSettings = DatabaseSettings()
    # This process's name in leases and claims; unset: env POD_NAME, else hostname-pid.
    replica_name: str | None = Field(default=None, min_length=1, max_length=200)
    log_format: Literal["text", "json"] = "text"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    target_labels: TargetLabels = TargetLabels()
    collectors: CollectorSettings = CollectorSettings()
    drift: DriftSettings = DriftSettings()
    diagnosis: DiagnosisSettings = DiagnosisSettings()

    kubeconfig: Path | None = Field(
        default=None, validation_alias=AliasChoices("kubeconfig", "KUBECONFIG")
    )
    in_cluster: bool | None = None
    prometheus_url: str | None = None
    alertmanager_url: str | None = None

    slack_bot_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("slack_bot_token", "SLACK_BOT_TOKEN")
    )
    slack_signing_secret: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("slack_signing_secret", "SLACK_SIGNING_SECRET"),
    )
    slack_app_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("slack_app_token", "SLACK_APP_TOKEN")
    )
    slack_api_url: str | None = None
    slack_channel: str | None = None
    slack_allowed_users: Annotated[list[str], NoDecode] = Field(default_factory=list)
    slack: SlackSettings = SlackSettings()
    actions: ActionSettings = ActionSettings()

    @field_validator("log_level", mode="before")
    @classmethod
    def _level_any_case(cls, value: Any) -> Any:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("log_format", mode="before")
    @classmethod
    def _format_any_case(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("slack_allowed_users", mode="before")
    @classmethod
    def _csv(cls, value: Any) -> Any:
        return _split_csv(value)

    @field_validator("kubeconfig", mode="before")
    @classmethod
    def _first_kubeconfig(cls, value: Any) -> Any:
        if isinstance(value, str):
            first = value.split(os.pathsep)[0].strip()
            return first or None
        return value

    @field_validator("kubeconfig")
    @classmethod
    def _kubeconfig_readable(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"no kubeconfig file at {value}")
        return value

    @field_validator("prometheus_url", "alertmanager_url", "slack_api_url", mode="before")
    @classmethod
    def _url(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip()
            if not value:
                return None
            if not value.startswith(("http://", "https://")):
                raise ValueError("must start with http:// or https://")
            return value.rstrip("/")
        return value

    @field_validator("database_url")
    @classmethod
    def _postgres_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith(
            ("postgresql://", "postgres://")
        ):
            raise ValueError("must start with postgresql:// (or postgres://)")
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The YAML file arrives as init values; the environment overrides it.
        return (env_settings, init_settings)

    @property
    def database_path(self) -> Path:
        """Where the SQLite store lives."""
        return self.data_dir / "triage-bot.sqlite3"

    @property
    def cluster_configured(self) -> bool:
        """True when a kubeconfig is given or the service runs inside a cluster."""
        if self.in_cluster is not None:
            return self.in_cluster or self.kubeconfig is not None
        return self.kubeconfig is not None or "KUBERNETES_SERVICE_HOST" in os.environ


def read_config_file(path: Path) -> dict[str, Any]:
    """The YAML file as a mapping; a `ConfigError` naming the problem otherwise."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror or exc}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {path} is not valid YAML: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"config file {path} must hold a mapping of keys, not {type(data).__name__}"
        )
    return data


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Settings from the environment, the optional file and explicit overrides."""
    file_values = read_config_file(config_file) if config_file else {}
    values = {**file_values, **overrides}
    source = f"file {config_file} and environment" if config_file else "environment"
    try:
        return Settings(**values)
    except ValidationError as exc:
        raise ConfigError(format_errors(exc, source, file_values)) from exc
