"""The Prometheus client and collector against the real `prometheus` binary.

One Prometheus per module scrapes a model server simulator every second: model `wine`
turns bad (30 % errors) a few seconds in, model `iris` is bad (50 %) all along, so the
collector must pick the series of the alert's own model.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote_plus

import aiohttp
import pytest
import pytest_asyncio

from bot.config import Settings
from bot.config_sections.triage import CollectorSettings
from bot.model.alert import Notification
from bot.model.collector import CollectorError, TriageContext
from bot.model.signal_evidence import MetricsEvidence
from bot.model.target import Target
from bot.promql import PrometheusClient, PrometheusError, prometheus_collectors
from bot.promql.collector import PrometheusCollector
from bot.triage.pipeline import Pipeline
from bot.triage.verdict import decide
from tests.fakes.servers import (
    ModelSimulator,
    ModelTraffic,
    PodUsage,
    ServerProcess,
    prometheus_config,
    running_model_simulator,
    running_prometheus,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")

RATIO = (
    "sum by (namespace, model) (rate(request_error_count[3s]))"
    " / sum by (namespace, model) (rate(request_count[3s])) > 0.05"
)
POD = "wine-predictor-00002-deployment-7d9f"


@dataclass
class Live:
    prometheus: ServerProcess
    simulator: ModelSimulator
    bad_since: datetime


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def live(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Live]:
    workdir: Path = tmp_path_factory.mktemp("prometheus")
    models = [ModelTraffic("wine"), ModelTraffic("iris", error_ratio=0.5)]
    pods = [
        PodUsage(POD, memory_bytes=900e6, memory_limit_bytes=1e9, cpu_cores=0.5),
        PodUsage("other-predictor-1", memory_bytes=1e6),
    ]
    async with running_model_simulator(models, pods) as simulator:
        config = prometheus_config([simulator.target])
        async with running_prometheus(workdir, config) as prometheus:
            await _scrapes(simulator, 3)
            simulator.set_error_ratio("wine", 0.3)
            bad_since = datetime.now(UTC)
            await _scrapes(simulator, 4)
            yield Live(prometheus, simulator, bad_since)


async def _scrapes(simulator: ModelSimulator, count: int) -> None:
    target = simulator.scrapes + count
    deadline = time.monotonic() + 20
    while simulator.scrapes < target:
        assert time.monotonic() < deadline, "Prometheus does not scrape the simulator"
        await asyncio.sleep(0.1)


def _notification(expr: str, alert_start: datetime, **labels: str) -> Notification:
    labels = {"alertname": "HighErrorRate", "severity": "critical", **labels}
    url = f"http://prometheus:9090/graph?g0.expr={quote_plus(expr)}&g0.tab=1"
    return Notification.model_validate(
        {
            "version": "4",
            "groupKey": '{}:{alertname="HighErrorRate"}',
            "status": "firing",
            "receiver": "triage-bot",
            "groupLabels": {"alertname": "HighErrorRate"},
            "commonLabels": labels,
            "alerts": [
                {
                    "status": "firing",
                    "labels": labels,
                    "startsAt": alert_start.isoformat(),
                    "generatorURL": url,
                }
            ],
        }
    )


def _context(notification: Notification, target: Target) -> TriageContext:
    return TriageContext(
        notification=notification,
        target=target,
        alert_start=notification.earliest_start(),
        now=datetime.now(UTC),
    )


async def test_instant_query_sees_the_simulated_rate(live: Live) -> None:
    async with aiohttp.ClientSession() as session:
        client = PrometheusClient(session, live.prometheus.url, timeout=5)
        series = await client.query('sum by (model) (rate(request_count{model="wine"}[3s]))')
    assert [s.labels for s in series] == [{"model": "wine"}]
    assert series[0].points[0][1] == pytest.approx(100.0, rel=0.1)


async def test_range_query_shows_the_switch(live: Live) -> None:
    end = datetime.now(UTC)
    async with aiohttp.ClientSession() as session:
        client = PrometheusClient(session, live.prometheus.url, timeout=5)
        series = await client.query_range(
            'sum(rate(request_error_count{model="wine"}[2s]))', end - timedelta(seconds=8), end, 1
        )
    values = [v for _, v in series[0].points]
    assert min(values) == pytest.approx(0.0, abs=1e-9)
    assert max(values) == pytest.approx(30.0, rel=0.15)


async def test_bad_promql_is_a_readable_error(live: Live) -> None:
    async with aiohttp.ClientSession() as session:
        client = PrometheusClient(session, live.prometheus.url, timeout=5)
        with pytest.raises(PrometheusError, match=r"rejected the query \(bad_data, HTTP 400\)"):
            await client.query("sum(rate(request_count[5m])")


async def test_collector_returns_the_alerts_series_and_resource_use(live: Live) -> None:
    notification = _notification(
        RATIO, live.bad_since, namespace="models", model="wine", inferenceservice="wine"
    )
    target = Target(namespace="models", inference_service="wine", model="wine")
    async with aiohttp.ClientSession() as session:
        client = PrometheusClient(session, live.prometheus.url, timeout=5)
        collector = PrometheusCollector(client, window_minutes=0.2, timeout=5, rate_window="2s")
        evidence = await collector.collect(_context(notification, target))

    assert isinstance(evidence, MetricsEvidence)
    assert evidence.comparison == ">" and evidence.threshold == 0.05
    assert evidence.expression == RATIO.removesuffix(" > 0.05")
    # iris is bad too, but the alert is about wine.
    assert [s.labels for s in evidence.series] == [{"namespace": "models", "model": "wine"}]
    values = [v for _, v in evidence.series[0].points if v == v]
    assert min(values) == pytest.approx(0.0, abs=1e-9)
    assert max(values) == pytest.approx(0.3, rel=0.1)
    assert evidence.alert_start == live.bad_since
    assert evidence.start == live.bad_since - timedelta(minutes=0.2)

    # other-predictor-1 does not belong to the wine InferenceService.
    [use] = evidence.resources
    assert (use.pod, use.container) == (POD, "kserve-container")
    assert use.memory_bytes == 900e6 and use.memory_limit_bytes == 1e9
    assert use.cpu_limit_cores == 1.0
    assert use.cpu_cores == pytest.approx(0.5, rel=0.2)
    assert any("memory at 90% of its limit" in line for line in evidence.lines())
    assert evidence.notes == ()


async def _collect_for_the_pod(live: Live, expression: str) -> MetricsEvidence | None:
    notification = _notification(expression, live.bad_since)
    target = Target(namespace="models", pod=POD)
    async with aiohttp.ClientSession() as session:
        client = PrometheusClient(session, live.prometheus.url, timeout=5)
        collector = PrometheusCollector(client, window_minutes=0.2, timeout=5, rate_window="2s")
        return await collector.collect(_context(notification, target))


async def test_collector_notes_an_expression_without_data(live: Live) -> None:
    evidence = await _collect_for_the_pod(live, "rate(no_such_metric[1m]) > 1")
    assert isinstance(evidence, MetricsEvidence)
    assert evidence.series == ()
    assert evidence.notes == ("the alert's expression returned no data in the window",)
    assert [r.pod for r in evidence.resources] == [POD]


async def test_collector_fails_with_a_note_when_every_query_fails(live: Live) -> None:
    notification = _notification("rate(request_count[1m]) >", live.bad_since)
    async with aiohttp.ClientSession() as session:
        client = PrometheusClient(session, live.prometheus.url, timeout=5)
        collector = PrometheusCollector(client, window_minutes=0.2, timeout=5)
        with pytest.raises(CollectorError, match="bad_data"):
            await collector.collect(_context(notification, Target()))


async def test_collector_keeps_the_resources_when_the_expression_fails(live: Live) -> None:
    evidence = await _collect_for_the_pod(live, "rate(request_count[1m]) >")
    assert isinstance(evidence, MetricsEvidence)
    assert evidence.series == ()
    [note] = evidence.notes
    assert "rejected the query (bad_data, HTTP 400)" in note
    assert [r.pod for r in evidence.resources] == [POD]


async def test_factory_collector_runs_inside_the_pipeline(live: Live) -> None:
    settings = Settings(
        prometheus_url=live.prometheus.url, collectors={"prometheus_window_minutes": 0.2}
    )
    notification = _notification(
        RATIO, live.bad_since, namespace="models", model="wine", inferenceservice="wine"
    )
    async with aiohttp.ClientSession() as session:
        collectors = prometheus_collectors(settings.prometheus_url, settings.collectors, session)
        report = await Pipeline(collectors, decide).run(notification)
    [result] = report.results
    assert result.collector == "Prometheus metrics"
    assert result.note == ""
    assert isinstance(result.evidence, MetricsEvidence)
    assert result.evidence.series


async def test_factory_returns_nothing_without_a_prometheus_url() -> None:
    async with aiohttp.ClientSession() as session:
        assert prometheus_collectors(None, CollectorSettings(), session) == []
