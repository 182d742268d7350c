"""Reading an alert's expression out of its generatorURL and splitting off the threshold."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import quote_plus

import pytest

from bot.model.results import evidence_from_dict, evidence_to_dict
from bot.model.signal_evidence import MetricsEvidence, ResourceUse, Series
from bot.model.target import Target
from bot.promql.collector import pod_matchers, select_series
from bot.promql.expression import AlertExpression, expression_from_generator_url, split_threshold

JOB = 'up{job="a&b"} == 0'
RATIO = "sum by (namespace, model) (rate(request_error_count[5m]))"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "http://vm:9090/graph?g0.expr=rate%28request_error_count%5B5s%5D%29+%2F+"
            "rate%28request_count%5B5s%5D%29+%3E+0.05&g0.tab=1",
            "rate(request_error_count[5s]) / rate(request_count[5s]) > 0.05",
        ),
        ("http://p/graph?g0.tab=1&g0.expr=" + quote_plus(JOB), JOB),
        ("http://p/graph?g0.tab=1", None),
        ("http://p/graph?g0.expr=+", None),
        ("", None),
    ],
)
def test_expression_from_generator_url(url: str, expected: str | None) -> None:
    assert expression_from_generator_url(url) == expected


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        (f"{RATIO} > 0.05", AlertExpression(RATIO, ">", 0.05)),
        ("a >= 1e3", AlertExpression("a", ">=", 1000.0)),
        ("a<=-2", AlertExpression("a", "<=", -2.0)),
        ("up == 0", AlertExpression("up", "==", 0.0)),
        ("a != 2", AlertExpression("a", "!=", 2.0)),
        # comparison characters inside matchers, strings or brackets are not operators
        ('x{le=~"0.5|>1"} > 3', AlertExpression('x{le=~"0.5|>1"}', ">", 3.0)),
        (
            "histogram_quantile(0.99, sum by (le) (rate(h_bucket[5m]))) > 0.5",
            AlertExpression("histogram_quantile(0.99, sum by (le) (rate(h_bucket[5m])))", ">", 0.5),
        ),
        # shapes kept whole
        ("a == bool 1", AlertExpression("a == bool 1")),
        ("a > 1 and b", AlertExpression("a > 1 and b")),
        ("a > b", AlertExpression("a > b")),
        ("1 < a", AlertExpression("1 < a")),
        ("absent(up)", AlertExpression("absent(up)")),
    ],
)
def test_split_threshold(expr: str, expected: AlertExpression) -> None:
    assert split_threshold(expr) == expected


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        (Target(namespace="m", pod="p-1"), 'namespace="m", pod="p-1"'),
        (
            Target(namespace="m", inference_service="wine"),
            'namespace="m", pod=~"wine-predictor-.*"',
        ),
        (
            Target(namespace="m", inference_service="a.b"),
            'namespace="m", pod=~"a\\\\.b-predictor-.*"',
        ),
        (Target(namespace="m", deployment="web"), 'namespace="m", pod=~"web-.*"'),
        (Target(namespace="m", model="wine"), None),
        (Target(inference_service="wine"), None),
        # label values that are not Kubernetes names never reach a query
        (Target(namespace="m", pod='x"} or vector(1) #'), None),
    ],
)
def test_pod_matchers(target: Target, expected: str | None) -> None:
    assert pod_matchers(target) == expected


def test_select_series_keeps_the_alerts_own() -> None:
    wine = Series({"model": "wine", "namespace": "models"}, ((1.0, 0.3),))
    iris = Series({"model": "iris", "namespace": "models"}, ((1.0, 0.5),))
    labels = [{"alertname": "HighErrorRate", "model": "wine", "namespace": "models"}]
    assert select_series([iris, wine], labels, 10) == (wine,)
    # none matches: show what there is, within the limit
    assert select_series([iris, wine], [{"model": "other"}], 1) == (iris,)


def test_select_series_drops_points_json_cannot_carry() -> None:
    nan, inf = float("nan"), float("inf")
    ratio = Series({"model": "wine"}, ((1.0, nan), (2.0, 0.3), (3.0, inf)))
    idle = Series({"model": "wine", "pod": "x"}, ((1.0, nan),))
    assert select_series([ratio, idle], [{"model": "wine"}], 10) == (
        Series({"model": "wine"}, ((2.0, 0.3),)),
    )


def test_metrics_evidence_round_trips_as_strict_json() -> None:
    evidence = MetricsEvidence(
        expression="sum(rate(a[5m])) / sum(rate(b[5m]))",
        start=datetime(2026, 11, 24, 18, 30, tzinfo=UTC),
        end=datetime(2026, 11, 24, 19, 30, tzinfo=UTC),
        series=(Series({"model": "wine"}, ((1.0, 0.3),)),),
        resources=(ResourceUse("p", "c", memory_bytes=1.0, memory_limit_bytes=None),),
        threshold=0.05,
        comparison=">",
        alert_start=datetime(2026, 11, 24, 19, 0, tzinfo=UTC),
        notes=("Prometheus at http://p: no answer within 3 s",),
    )
    text = json.dumps(evidence_to_dict(evidence), allow_nan=False)
    assert evidence_from_dict(json.loads(text)) == evidence
    assert evidence.lines() == (
        "`sum(rate(a[5m])) / sum(rate(b[5m]))` peaked at 0.3 (threshold > 0.05)",
        "Prometheus at http://p: no answer within 3 s",
    )
