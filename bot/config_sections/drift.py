"""The `drift` section of the settings: the statistics, windows, limits and the models.

Read by the drift service (`bot.drift.monitor`, `bot.drift.service`) and `bench/drift.py`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from bot.config_sections.units import MIB


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
