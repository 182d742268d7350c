"""Drift gauges and the ingest counters, on the registry the application passes in.

Called by `drift.service` after each evaluation (`publish`), for each ingest outcome
(`count`) and for each accepted batch of rows (`add_rows`). Per-model series carry the
labels `namespace` and `model` (the InferenceService name), the same labels the
PrometheusRule groups by and the triage reads as its target. Label cardinality is
bounded: models come from the config only, features per model are capped by
`drift.max_features`, and a model's old feature series are removed when its feature set
changes.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge

if TYPE_CHECKING:
    from bot.drift.evaluation import Evaluation

PREFIX = "triage_bot_drift_"
MODEL = ["namespace", "model"]
FEATURE = [*MODEL, "feature"]

OUTCOMES = (
    "accepted",
    "duplicate",
    "unknown_model",
    "malformed",
    "shape_mismatch",
    "too_large",
    "unsupported_type",
    "slow_body",
    "unavailable",  # several replicas: the shared window's database failed (503)
)


def model_labels(key: str) -> tuple[str, str]:
    """(namespace, model) of a monitor key "namespace/name"."""
    # a Kubernetes namespace never contains "/", so the first one is the separator
    namespace, _, name = key.partition("/")
    return namespace, name


class DriftMetrics:
    """The drift engine's series on /metrics."""

    def __init__(self, registry: CollectorRegistry) -> None:
        def gauge(name: str, doc: str, labels: list[str]) -> Gauge:
            return Gauge(f"{PREFIX}{name}", doc, labels, registry=registry)

        self.ingest = Counter(
            f"{PREFIX}ingest",
            "Payload-logger events and feedback posts, by outcome.",
            ["outcome"],
            registry=registry,
        )
        for outcome in OUTCOMES:
            self.ingest.labels(outcome)
        self.rows = Counter(f"{PREFIX}rows", "Input rows ingested.", MODEL, registry=registry)
        self.statistic = gauge(
            "feature_statistic", "KS D or chi-square statistic.", [*FEATURE, "test"]
        )
        self.p_value = gauge("feature_p_value", "p-value of the feature's test.", FEATURE)
        self.drifted = gauge(
            "feature_drifted",
            "1 when the feature drifted (corrected, above the effect floor).",
            FEATURE,
        )
        self.effect = gauge(
            "feature_effect", "Normed Wasserstein or Jensen-Shannon distance.", FEATURE
        )
        self.share = gauge("share", "Share of features drifted.", MODEL)
        self.dataset = gauge(
            "dataset_drifted", "1 when the drift share reaches drift.dataset_share.", MODEL
        )
        self.prediction = gauge("prediction_drifted", "1 when the predictions drifted.", MODEL)
        self.window_rows = gauge("window_rows", "Rows in the input window.", MODEL)
        self.accuracy = gauge("accuracy", "Rolling accuracy over labelled predictions.", MODEL)
        self.accuracy_baseline = gauge(
            "accuracy_baseline",
            "Accuracy the rolling accuracy is compared with (configured or first labels).",
            MODEL,
        )
        self.mae = gauge("mae", "Rolling mean absolute error over labelled predictions.", MODEL)
        self.rmse = gauge(
            "rmse", "Rolling root mean squared error over labelled predictions.", MODEL
        )
        self.evaluated = gauge(
            "last_evaluation_timestamp_seconds", "Unix time of the last evaluation.", MODEL
        )
        self.memory = gauge("memory_bytes", "Bytes held by the model's windows.", MODEL)
        self._features: dict[tuple[str, str], set[tuple[str, str]]] = {}

    def count(self, outcome: str) -> None:
        """One ingest outcome."""
        self.ingest.labels(outcome).inc()

    def add_rows(self, key: str, rows: int) -> None:
        """Input rows accepted for the model with monitor key "namespace/name"."""
        self.rows.labels(*model_labels(key)).inc(rows)

    def publish(self, evaluation: Evaluation, window_rows: int, memory_bytes: int) -> None:
        """Set the gauges of one model from its newest evaluation."""
        model = model_labels(evaluation.model)
        self.window_rows.labels(*model).set(window_rows)
        self.memory.labels(*model).set(memory_bytes)
        self.evaluated.labels(*model).set(evaluation.at.timestamp())
        quality = evaluation.quality
        if quality.accuracy is not None:
            self.accuracy.labels(*model).set(quality.accuracy)
        if quality.accuracy_baseline is not None:
            self.accuracy_baseline.labels(*model).set(quality.accuracy_baseline)
        if quality.mae is not None:
            self.mae.labels(*model).set(quality.mae)
        if quality.rmse is not None:
            self.rmse.labels(*model).set(quality.rmse)
        if evaluation.predictions is not None:
            self.prediction.labels(*model).set(float(evaluation.predictions.drift))
        report = evaluation.inputs
        if report is None:
            return
        self.share.labels(*model).set(report.drift_share)
        self.dataset.labels(*model).set(float(report.dataset_drift))
        current = {(f.name, f.test) for f in report.features}
        for name, test in self._features.get(model, set()) - current:
            stale: list[tuple[Gauge, tuple[str, ...]]] = [
                (self.statistic, (*model, name, test)),
                (self.p_value, (*model, name)),
                (self.drifted, (*model, name)),
                (self.effect, (*model, name)),
            ]
            for g, labels in stale:
                with contextlib.suppress(KeyError):
                    g.remove(*labels)
        self._features[model] = current
        for f in report.features:
            self.statistic.labels(*model, f.name, f.test).set(f.statistic)
            self.p_value.labels(*model, f.name).set(f.p_value)
            self.drifted.labels(*model, f.name).set(float(f.drift))
            if f.effect is not None:
                self.effect.labels(*model, f.name).set(f.effect)
