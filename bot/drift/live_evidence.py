"""The triage collector of the drift engine: `DriftEvidence` for the alert's model.

Called by the triage pipeline (`triage.pipeline`) through the `Collector` protocol; it
reads the monitors of `drift.service` (never the network) and reports the evaluation
in force at the alert: which features drifted, since when (the start of their current
run of drifted evaluations), by how much, predictions, and accuracy against baseline.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from bot.model.collector import CollectorError, TriageContext
from bot.model.signal_evidence import DriftEvidence, FeatureDrift
from bot.model.target import Target

if TYPE_CHECKING:
    from bot.drift.evaluation import Evaluation
    from bot.drift.monitor import ModelMonitor

# A string: the monitor module (numpy, the engine) loads only once a model is configured.
Lookup = Callable[[Target], "ModelMonitor | None"]
# Brings a monitor's history up to date before it is read (several replicas: from the
# shared history, which another replica may have written since this one last read it).
Refresh = Callable[["ModelMonitor"], Awaitable[None]]


def drifted_since(history: Sequence[Evaluation], name: str) -> datetime | None:
    """When the feature's current run of drifted evaluations began (None if not drifted)."""
    since: datetime | None = None
    for evaluation in reversed(history):
        report = evaluation.inputs
        feature = next((f for f in report.features if f.name == name), None) if report else None
        if feature is None or not feature.drift:
            break
        since = evaluation.at
    return since


def evidence_of(monitor: ModelMonitor, at: datetime) -> DriftEvidence | None:
    """The evidence from the newest evaluation at or before `at` (or the newest overall)."""
    return evidence_from_history(monitor.key, list(monitor.history), at)


def evidence_from_history(
    key: str, history: Sequence[Evaluation], at: datetime
) -> DriftEvidence | None:
    """The evidence from the newest evaluation of `history` (oldest first) at or before `at`."""
    past = [e for e in history if e.at <= at]
    upto = past if past else history
    if not upto:
        return None
    evaluation = upto[-1]
    report = evaluation.inputs
    features: tuple[FeatureDrift, ...] = ()
    if report is not None:
        features = tuple(
            FeatureDrift(
                name=f.name,
                test=f.test,
                statistic=f.statistic,
                p_value=f.p_value,
                drifted=f.drift,
                effect=f.effect,
                drifted_since=drifted_since(upto, f.name) if f.drift else None,
            )
            for f in report.features
        )
    quality = evaluation.quality
    return DriftEvidence(
        model=key,
        evaluated_at=evaluation.at,
        window_rows=report.window_rows if report else 0,
        drift_share=report.drift_share if report else 0.0,
        dataset_drift=report.dataset_drift if report else False,
        features=features,
        accuracy=quality.accuracy,
        accuracy_baseline=quality.accuracy_baseline,
        prediction_drift=bool(evaluation.predictions and evaluation.predictions.drift),
    )


class DriftCollector:
    """Implements `model.collector.Collector` over the service's monitors."""

    def __init__(self, lookup: Lookup, timeout: float = 2.0, refresh: Refresh | None = None):
        self._lookup = lookup
        self._timeout = timeout
        self._refresh = refresh

    @property
    def name(self) -> str:
        """Shown in notes."""
        return "Drift engine"

    @property
    def timeout(self) -> float:
        """Reading memory is quick; the budget is for safety only."""
        return self._timeout

    async def collect(self, context: TriageContext) -> DriftEvidence | None:
        """The drift evidence of the alert's model; None when the model is not monitored."""
        monitor = self._lookup(context.target)
        if monitor is None:
            return None
        if self._refresh is not None:
            await self._refresh(monitor)
        evidence = evidence_of(monitor, context.now)
        if evidence is None:
            raise CollectorError(f"no drift evaluation yet for {monitor.key}")
        return evidence
