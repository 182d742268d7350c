"""The triage sections of the settings: collector time limits and the user's log patterns.

`Settings.collectors` is read by the evidence sources (`sources`, `cluster`, `promql`)
and the pipeline's budget; `Settings.diagnosis` by the verdict (`triage.log_patterns`).
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator

from bot.model.findings import ActionKind, Category, Cause


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
