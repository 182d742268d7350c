"""Settings: environment variables and an optional YAML file, validated once at start.

Read by `cli` and handed explicitly to `app.create_app` and everything below it; nothing
reads the environment at import time. The environment wins over the file, so a secret
can stay out of the file. Names are in DESIGN.md and docs/configuration.md.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
)
from pydantic_settings import BaseSettings, NoDecode, PydanticBaseSettingsSource, SettingsConfigDict

from bot.config_names import format_errors
from bot.model.findings import ActionKind, Category, Cause
from bot.model.target import TargetLabels

MIB = 1024 * 1024


class ConfigError(Exception):
    """The configuration is invalid; the message names the key and the problem."""


class CollectorSettings(BaseModel):
    """Time limits of the evidence collectors."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    budget_seconds: float = Field(default=8.0, gt=0)
    kubernetes_timeout_seconds: float = Field(default=3.0, gt=0)
    prometheus_timeout_seconds: float = Field(default=3.0, gt=0)
    log_lines: int = Field(default=400, gt=0)
    prometheus_window_minutes: float = Field(default=30.0, gt=0)


class LogPatternSetting(BaseModel):
    """A log pattern of the user's, tried before the shipped catalogue."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)
    pattern: str = Field(min_length=1)
    cause: Cause
    category: Category = "infrastructure"
    strength: float = Field(default=0.8, ge=0, le=1)
    summary: str = Field(min_length=1)
    action: str = Field(min_length=1)
    action_kind: ActionKind = "investigate"

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a regular expression: {exc}") from exc
        return value


class DiagnosisSettings(BaseModel):
    """How the verdict reads logs: extra patterns of the user's."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    log_patterns: tuple[LogPatternSetting, ...] = ()


class SlackRoute(BaseModel):
    """Send groups whose labels match every `match` pair to `channel`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    match: dict[str, str] = Field(min_length=1)
    channel: str = Field(min_length=1)


class ActionRule(BaseModel):
    """Who may run which actions in which namespaces (Slack user or user group IDs)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    actions: tuple[Literal["*", "ack", "silence", "rollback", "retrain"], ...] = ("*",)
    namespaces: tuple[str, ...] = ("*",)
    users: tuple[str, ...] = Field(min_length=1)


class SlackSettings(BaseModel):
    """Slack routing, mentions, authorization rules and transport limits (config file)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    routes: tuple[SlackRoute, ...] = ()
    mentions: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    rules: tuple[ActionRule, ...] = ()
    max_interaction_bytes: int = Field(default=1 * MIB, gt=0)
    signature_max_age_seconds: float = Field(default=300.0, gt=0)
    retries: int = Field(default=3, ge=0)
    retry_interval_seconds: float = Field(default=1.0, ge=0)
    outbox_retry_seconds: float = Field(default=30.0, gt=0)
    charts: bool = True
    usergroup_cache_seconds: float = Field(default=60.0, ge=0)
    # Links, delivery pace and storms (docs/slack.md). Hosts whose URLs become links besides
    # the Prometheus and Alertmanager URLs; Slack's limits the sender keeps under.
    link_hosts: tuple[str, ...] = ()
    channel_messages_per_second: float = Field(default=1.0, gt=0)
    channel_burst: int = Field(default=2, ge=1)
    updates_per_minute: float = Field(default=45.0, gt=0)
    storm_groups_per_minute: int = Field(default=10, ge=1)
    digest_interval_seconds: float = Field(default=5.0, gt=0)
    max_triage_attempts: int = Field(default=3, ge=1)
    body_timeout_seconds: float = Field(default=10.0, gt=0)
    reply_window_seconds: float = Field(default=10.0, ge=0)


class RetrainSettings(BaseModel):
    """Where the retrain Job template comes from and how long it may run."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    job_template: dict[str, Any] | None = None
    configmap: str | None = None  # "name" (model namespace) or "namespace/name"
    configmap_key: str = "job.yaml"
    timeout_seconds: float = Field(default=3600.0, gt=0)
    log_tail_lines: int = Field(default=20, gt=0)
    allowed_secrets: tuple[str, ...] = ()  # secrets a Job may read (actions.job_policy)


class ActionSettings(BaseModel):
    """Limits of the actions run from Slack."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    silence_durations: tuple[str, ...] = ("1h", "4h", "24h")
    rollback_timeout_seconds: float = Field(default=600.0, gt=0)
    poll_seconds: float = Field(default=5.0, gt=0)
    retrain: RetrainSettings = RetrainSettings()


def _split_csv(value: Any) -> Any:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class DriftModelSettings(BaseModel):
    """One monitored model: its features and where its reference sample comes from."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    namespace: str = Field(min_length=1)
    name: str = Field(min_length=1)
    features: tuple[str, ...] = ()  # empty: the reference file's header, else f0, f1, ...
    categorical: tuple[str, ...] = ()
    reference: Path | None = None  # CSV with a header, .npy or .npz; unset: capture
    capture_rows: int = Field(default=1000, gt=0)
    task: Literal["classification", "regression"] = "classification"
    output: str | None = None  # v2 output holding the prediction; unset: the first
    accuracy_baseline: float | None = None  # unset: accuracy of the first labelled window


class DriftSettings(BaseModel):
    """The drift engine: statistics, windows, ingest limits and the monitored models."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    alpha: float = Field(default=0.05, gt=0, lt=1)
    correction: Literal["bonferroni", "bh", "none"] = "bonferroni"
    min_rows: int = Field(default=100, gt=0)
    wasserstein_floor: float = Field(default=0.1, ge=0)
    js_floor: float = Field(default=0.1, ge=0)
    dataset_share: float = Field(default=0.5, gt=0, le=1)
    window_rows: int = Field(default=10_000, gt=0)
    window_seconds: float = Field(default=86_400.0, gt=0)
    interval_seconds: float = Field(default=60.0, gt=0)
    history: int = Field(default=100, gt=0)
    max_body_bytes: int = Field(default=4 * MIB, gt=0)
    max_features: int = Field(default=200, gt=0)  # also bounds the gauges' label values
    feedback_rows: int = Field(default=5_000, gt=0)
    pending_ids: int = Field(default=50_000, gt=0)
    workers: int = Field(default=1, gt=0, le=16)  # threads: see docs/benchmarks.md
    models: tuple[DriftModelSettings, ...] = ()


class ApiSettings(BaseModel):
    """Exposure of `/api/*` (bot.auth): closed unless a token is set or this says public."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    public: bool = False  # true: no token needed; for a laptop (`make run`), never a cluster


class DatabaseSettings(BaseModel):
    """The PostgreSQL store's pool and leases (used only with `database_url`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    pool_min_size: int = Field(default=1, ge=0, le=100)
    pool_max_size: int = Field(default=10, ge=1, le=100)
    connect_timeout_seconds: float = Field(default=5.0, gt=0)
    command_timeout_seconds: float = Field(default=10.0, gt=0)
    lease_seconds: float = Field(default=60.0, gt=0)  # a dead replica's groups wait this long
    # The worker looks for work this often (other replicas' webhooks never wake it).
    poll_seconds: float = Field(default=1.0, gt=0)
    # Expired leases and old rows are swept this often, by one replica at a time.
    sweep_seconds: float = Field(default=60.0, gt=0)
    keep_days: float = Field(default=7.0, gt=0)  # finished notifications kept this long


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
