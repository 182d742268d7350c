"""The `actions` section of the settings: silences, rollback limits and the retrain Job.

Read by `bot.actions` (rollback, retrain, silence) when a button is clicked.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


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
