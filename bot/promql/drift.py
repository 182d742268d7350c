"""Drift evidence read back from Prometheus: the `triage_bot_drift_*` gauges.

Called by `bot.sources` when a Prometheus URL is set and this process has no drift
engine for the model (offline `triage-bot triage`, or a replica that did not receive the
model's events). The gauges any replica exported hold the features' drift at the
alert; a range query of `feature_drifted` tells since when each has drifted.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from bot.model.collector import CollectorError, TriageContext
from bot.model.signal_evidence import DriftEvidence, FeatureDrift, Series
from bot.promql.client import PrometheusClient, PrometheusError

PREFIX = "triage_bot_drift_"
LOOKBACK = timedelta(hours=6)  # how far back a drifted run is traced to its start


def _value(series: list[Series]) -> float | None:
    if not series or not series[0].points:
        return None
    return series[0].points[-1][1]


def _by_feature(series: list[Series]) -> dict[str, float]:
    return {s.labels.get("feature", ""): s.points[-1][1] for s in series if s.points}


def _since(series: list[Series]) -> dict[str, datetime]:
    """Per feature, when its current run of drifted (1) samples began."""
    out: dict[str, datetime] = {}
    for s in series:
        start = None
        for at, value in s.points:
            start = (start or at) if value >= 1 else None
        if start is not None:
            out[s.labels.get("feature", "")] = datetime.fromtimestamp(start, UTC)
    return out


class PrometheusDriftCollector:
    """Implements `model.collector.Collector` over the exported drift gauges."""

    name = "Drift metrics"

    def __init__(self, client: PrometheusClient, timeout: float) -> None:
        self._client = client
        self.timeout = timeout

    async def collect(self, context: TriageContext) -> DriftEvidence | None:
        """The drift at the alert's start; None when no replica exported any for the model."""
        target = context.target
        model = target.model or target.inference_service
        if not target.namespace or not model:
            return None
        sel = f'{{namespace="{target.namespace}", model="{model}"}}'
        at = context.alert_start + timedelta(minutes=1)

        def gauge(name: str) -> str:
            return f"last_over_time({PREFIX}{name}{sel}[1h])"

        try:
            (
                drifted,
                p_values,
                statistics,
                share,
                dataset,
                accuracy,
                baseline,
                history,
            ) = await asyncio.gather(
                self._client.query(gauge("feature_drifted"), at),
                self._client.query(gauge("feature_p_value"), at),
                self._client.query(gauge("feature_statistic"), at),
                self._client.query(gauge("share"), at),
                self._client.query(gauge("dataset_drifted"), at),
                self._client.query(gauge("accuracy"), at),
                self._client.query(gauge("accuracy_baseline"), at),
                self._client.query_range(f"{PREFIX}feature_drifted{sel}", at - LOOKBACK, at, 60.0),
            )
        except PrometheusError as exc:
            raise CollectorError(str(exc)) from exc
        if not drifted and not accuracy:
            return None
        flags, p, stat, since = (
            _by_feature(drifted),
            _by_feature(p_values),
            _by_feature(statistics),
            _since(history),
        )
        tests = {s.labels.get("feature", ""): s.labels.get("test", "ks") for s in statistics}
        features = tuple(
            FeatureDrift(
                name=name,
                test=tests.get(name, "ks"),
                statistic=stat.get(name, 0.0),
                p_value=p.get(name, 1.0),
                drifted=flag >= 1,
                drifted_since=since.get(name) if flag >= 1 else None,
            )
            for name, flag in sorted(flags.items())
        )
        return DriftEvidence(
            model=f"{target.namespace}/{model}",
            evaluated_at=at,
            drift_share=_value(share) or 0.0,
            dataset_drift=(_value(dataset) or 0.0) >= 1,
            features=features,
            accuracy=_value(accuracy),
            accuracy_baseline=_value(baseline),
        )
