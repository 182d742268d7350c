"""Writes a corpus case's drift state where a triage finds it: a store, or Prometheus series.

Used by tests/corpus/runner.py. The drift engine's history is a run of evaluations: one
clean evaluation before the drift began, then one every five minutes from `drifted_since`
to `evaluated_at`, each with the case's features, so `drifted_since` reads back as the case
says. The same run becomes `triage_bot_drift_*` samples for cases found through Prometheus.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

from bot.drift.evaluation import Evaluation
from bot.drift.history_table import HistoryTable
from bot.drift.ingest.feedback import Quality
from bot.drift.stats.results import DriftReport, FeatureResult
from bot.store.sqlite import Store
from tests.corpus.schema import Case, Drift, parse_time

STEP = timedelta(minutes=5)


def _namespace(case: Case) -> str:
    return case.alert.labels.get("namespace", "default")


def evaluations(case: Case) -> list[Evaluation]:
    """The evaluations of the case's drift history, oldest first."""
    drift = case.drift
    assert drift is not None and drift.evaluated_at is not None
    last = parse_time(drift.evaluated_at)
    since = parse_time(drift.drifted_since) if drift.drifted_since else last
    key = f"{_namespace(case)}/{drift.model}"
    drifted = _report(drift, drifted=True)
    clean = _report(drift, drifted=False)
    quality = Quality(
        labelled=500 if drift.accuracy is not None else 0,
        accuracy=drift.accuracy,
        accuracy_baseline=drift.accuracy_baseline,
    )
    out = [
        Evaluation(
            key, since - STEP, clean, None, replace(quality, accuracy=drift.accuracy_baseline)
        )
    ]
    at = since
    while at <= last:
        out.append(Evaluation(key, at, drifted, None, quality))
        at += STEP
    if out[-1].at < last:
        out.append(Evaluation(key, last, drifted, None, quality))
    return out


def _report(drift: Drift, *, drifted: bool) -> DriftReport:
    features = tuple(
        FeatureResult(
            name=f.name,
            test=f.test,
            statistic=f.statistic if drifted else 0.01,
            p_value=f.p_value if drifted else 0.9,
            significant=f.drifted and drifted,
            drift=f.drifted and drifted,
            effect=None,
            effect_measure="wasserstein",
            psi=0.0,
            method="asymp",
            window_rows=5000,
        )
        for f in drift.features
    )
    share = sum(f.drift for f in features) / len(features) if features else 0.0
    return DriftReport(
        features=features,
        reference_rows=50_000,
        window_rows=5000,
        enough_rows=True,
        drift_share=share,
        dataset_drift=share >= 0.5,
        alpha=0.05,
        correction="bonferroni",
    )


async def write_drift_store(data_dir: Path, case: Case) -> Path:
    """The store a service would have left under `data_dir`, holding the case's drift."""
    store = Store(data_dir / "triage-bot.sqlite3")
    await store.open()
    try:
        table = HistoryTable(store, keep=200)
        await table.ensure()
        assert case.drift is not None
        for evaluation in evaluations(case):
            await table.record(_namespace(case), case.drift.model, evaluation)
    finally:
        await store.close()
    return store.path


def drift_samples(case: Case) -> list[tuple[str, float, float]]:
    """(series, value, unix time) samples of the gauges the drift engine would export."""
    drift = case.drift
    assert drift is not None
    model = f'namespace="{_namespace(case)}",model="{drift.model}"'
    out: list[tuple[str, float, float]] = []
    history = evaluations(case)
    end = parse_time(case.alert.startsAt) + timedelta(minutes=10)
    for i, evaluation in enumerate(history):
        until = history[i + 1].at if i + 1 < len(history) else end
        at: datetime = evaluation.at
        while at < until:  # a gauge is scraped every minute until the next evaluation
            t = at.timestamp()
            report = evaluation.inputs
            assert report is not None
            out.append((f"triage_bot_drift_share{{{model}}}", report.drift_share, t))
            out.append(
                (f"triage_bot_drift_dataset_drifted{{{model}}}", float(report.dataset_drift), t)
            )
            for f in report.features:
                feature = f'{model},feature="{f.name}"'
                out.append((f"triage_bot_drift_feature_drifted{{{feature}}}", float(f.drift), t))
                out.append((f"triage_bot_drift_feature_p_value{{{feature}}}", f.p_value, t))
                test = f'{feature},test="{f.test}"'
                out.append((f"triage_bot_drift_feature_statistic{{{test}}}", f.statistic, t))
            quality = evaluation.quality
            if quality.accuracy is not None:
                out.append((f"triage_bot_drift_accuracy{{{model}}}", quality.accuracy, t))
            if quality.accuracy_baseline is not None:
                out.append(
                    (f"triage_bot_drift_accuracy_baseline{{{model}}}", quality.accuracy_baseline, t)
                )
            at += timedelta(minutes=1)
    return out
