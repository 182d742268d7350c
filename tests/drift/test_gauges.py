"""The drift gauges: their labels, stale-series removal, and agreement with the alert rules."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import yaml
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from bot.drift.evaluation import Evaluation
from bot.drift.gauges import DriftMetrics, model_labels
from bot.drift.ingest.feedback import Quality
from bot.drift.stats.results import DriftReport, FeatureResult

ROOT = Path(__file__).resolve().parents[2]
RULE = ROOT / "manifests" / "components" / "prometheus-operator" / "prometheusrule.yaml"
RULE_TESTS = ROOT / "tests" / "manifests" / "rules_test.yml"
# labels Prometheus adds when it scrapes the bot, not the bot's own
SCRAPE_LABELS = {"job", "instance", "pod", "service", "endpoint", "container"}
AT = datetime(2026, 1, 1, tzinfo=UTC)


def feature(name: str, drift: bool, test: str = "ks") -> FeatureResult:
    return FeatureResult(
        name=name, test=test, statistic=0.4 if drift else 0.01, p_value=0.001 if drift else 0.8,
        significant=drift, drift=drift, effect=0.3 if drift else None,
        effect_measure="wasserstein", psi=0.0, method="asymp", window_rows=500,
    )  # fmt: skip


def evaluation(key: str, *features: FeatureResult, accuracy: float | None = None) -> Evaluation:
    report = DriftReport(
        features=features, reference_rows=1000, window_rows=500, enough_rows=True,
        drift_share=sum(f.drift for f in features) / max(len(features), 1),
        dataset_drift=False, alpha=0.05, correction="bonferroni",
    )  # fmt: skip
    quality = Quality(200, accuracy=accuracy, accuracy_baseline=0.9 if accuracy else None)
    return Evaluation(model=key, at=AT, inputs=report, predictions=None, quality=quality)


def samples(registry: CollectorRegistry) -> dict[str, list[dict[str, str]]]:
    """Label sets of every sample, by sample name, as a scrape would read them."""
    found: dict[str, list[dict[str, str]]] = {}
    for family in text_string_to_metric_families(generate_latest(registry).decode()):
        for sample in family.samples:
            found.setdefault(sample.name, []).append(dict(sample.labels))
    return found


def published() -> dict[str, list[dict[str, str]]]:
    registry = CollectorRegistry()
    metrics = DriftMetrics(registry)
    metrics.publish(evaluation("models/wine", feature("ph", True), accuracy=0.8), 500, 4096)
    metrics.add_rows("models/wine", 500)
    return samples(registry)


def test_model_labels_split_the_monitor_key() -> None:
    assert model_labels("models/wine-quality") == ("models", "wine-quality")


def test_gauges_carry_namespace_and_model_apart() -> None:
    found = published()
    model = {"namespace": "models", "model": "wine"}
    assert found["triage_bot_drift_feature_drifted"] == [{**model, "feature": "ph"}]
    assert found["triage_bot_drift_feature_statistic"] == [{**model, "feature": "ph", "test": "ks"}]
    for name in (
        "triage_bot_drift_accuracy",
        "triage_bot_drift_accuracy_baseline",
        "triage_bot_drift_share",
        "triage_bot_drift_window_rows",
        "triage_bot_drift_memory_bytes",
        "triage_bot_drift_rows_total",
    ):
        assert found[name] == [model], name


def test_same_name_in_two_namespaces_and_stale_features_go() -> None:
    registry = CollectorRegistry()
    metrics = DriftMetrics(registry)
    metrics.publish(evaluation("a/wine", feature("ph", True), feature("sugar", False)), 1, 1)
    metrics.publish(evaluation("b/wine", feature("ph", False)), 1, 1)
    metrics.publish(evaluation("a/wine", feature("ph", True), feature("color", True, "chi2")), 1, 1)
    drifted = samples(registry)["triage_bot_drift_feature_drifted"]
    assert sorted((s["namespace"], s["feature"]) for s in drifted) == [
        ("a", "color"),
        ("a", "ph"),
        ("b", "ph"),
    ]
    assert {s["model"] for s in drifted} == {"wine"}


def test_every_drift_series_the_rules_use_is_exported() -> None:
    """The alert rules and their promtool tests name only series the bot exports."""
    found = published()
    rule = yaml.safe_load(RULE.read_text())
    alerts = {r.get("alert"): r["expr"] for g in rule["spec"]["groups"] for r in g["rules"]}
    exprs = [alerts["ModelFeatureDrift"], alerts["ModelAccuracyDrop"]]
    used = {n for e in exprs for n in re.findall(r"\btriage_bot_\w+", e)}
    assert {"triage_bot_drift_feature_drifted", "triage_bot_drift_accuracy"} <= used
    assert used <= found.keys()
    for expr in exprs:
        # Grouped by the model (the feature only where replicas' copies are folded first),
        # never by the bot's own pod or instance: two replicas give one alert.
        groups = [
            {g.strip() for g in group.split(",")} for group in re.findall(r"by \(([^)]*)\)", expr)
        ]
        assert groups, expr
        for group in groups:
            assert group in ({"namespace", "model"}, {"namespace", "model", "feature"}), expr
        assert groups[0] == {"namespace", "model"}, expr  # the outermost: one alert per model

    tests = yaml.safe_load(RULE_TESTS.read_text())["tests"]
    series = [s["series"] for t in tests for s in t.get("input_series", [])]
    for text in (s for s in series if s.startswith("triage_bot_drift_")):
        name, _, rest = text.partition("{")
        labels = {pair.split("=")[0] for pair in rest.rstrip("}").split(",")} - SCRAPE_LABELS
        assert name in found, text
        assert [set(sample) for sample in found[name]] == [labels], text
