"""What the metrics and the drift engine saw: series, resource use, drifted features.

Produced by `bot.promql` and `bot.drift`; read by the detectors (`triage.detect_signals`,
`detect_data`) and shown by the notifiers (the Slack chart draws the series). Frozen
dataclasses, each evidence kind tagged by its `kind` field (the union in `model.results`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from bot.model.evidence import Evidence


@dataclass(frozen=True)
class Series:
    """One series of a range query: labels and (unix time, value) points."""

    labels: dict[str, str]
    points: tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class ResourceUse:
    """Peak use of one container against its limit over the window."""

    pod: str
    container: str
    memory_bytes: float | None = None
    memory_limit_bytes: float | None = None
    cpu_cores: float | None = None
    cpu_limit_cores: float | None = None
    cpu_throttled: float | None = None  # share of CFS periods throttled, 0..1


@dataclass(frozen=True)
class MetricsEvidence(Evidence):
    """The alert's own expression around its start, and resource use."""

    kind: Literal["metrics"] = field(default="metrics", init=False)
    expression: str = ""
    start: datetime | None = None
    end: datetime | None = None
    series: tuple[Series, ...] = ()
    resources: tuple[ResourceUse, ...] = ()
    # Added for bot.promql: the alert's threshold (split off the expression so the
    # chart shows values below it too), the alert start to mark, and partial failures.
    threshold: float | None = None
    comparison: str = ""
    alert_start: datetime | None = None
    notes: tuple[str, ...] = ()
    # Requests per second over 15 minutes at the alert, and at the same time a day earlier.
    traffic: float | None = None
    traffic_day_before: float | None = None

    def lines(self) -> tuple[str, ...]:
        """Peak of the alert's expression against its threshold, then resource pressure."""
        out: list[str] = []
        values = [v for s in self.series for _, v in s.points if v == v]  # NaN != NaN
        if values:
            shown = self.comparison and self.threshold is not None
            bound = f" (threshold {self.comparison} {self.threshold:g})" if shown else ""
            out.append(f"`{self.expression}` peaked at {max(values):.4g}{bound}")
        if self.traffic is not None and self.traffic_day_before:
            change = self.traffic / self.traffic_day_before - 1
            out.append(
                f"traffic {self.traffic:.3g} req/s at the alert, {self.traffic_day_before:.3g} "
                f"req/s a day earlier ({change:+.0%})"
            )
        for r in self.resources:
            if r.memory_bytes is not None and r.memory_limit_bytes:
                share = r.memory_bytes / r.memory_limit_bytes
                if share >= 0.8:
                    out.append(f"{r.pod}/{r.container}: memory at {share:.0%} of its limit")
            if r.cpu_cores is not None and r.cpu_limit_cores:
                share = r.cpu_cores / r.cpu_limit_cores
                if share >= 0.8:
                    out.append(f"{r.pod}/{r.container}: CPU at {share:.0%} of its limit")
        return (*out, *self.notes)


# --- data evidence ----------------------------------------------------------------------


@dataclass(frozen=True)
class FeatureDrift:
    """One feature's latest drift measure."""

    name: str
    test: str
    statistic: float
    p_value: float
    drifted: bool
    effect: float | None = None
    drifted_since: datetime | None = None


@dataclass(frozen=True)
class DriftEvidence(Evidence):
    """What the drift engine measured for the alert's model around the alert."""

    kind: Literal["drift"] = field(default="drift", init=False)
    model: str
    evaluated_at: datetime | None = None
    window_rows: int = 0
    drift_share: float = 0.0
    dataset_drift: bool = False
    features: tuple[FeatureDrift, ...] = ()
    accuracy: float | None = None
    accuracy_baseline: float | None = None
    prediction_drift: bool = False
