"""The Prometheus collector: the alert's own expression around its start, and resource use.

Built by `prometheus_collectors` for the service and the CLI; called by
`triage.pipeline` like every collector; asks Prometheus through `promql.client` and hands
back `MetricsEvidence`, which `triage.verdict` reads and `promql.chart` draws.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
from collections.abc import Awaitable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TypeVar

import aiohttp

from bot.config_sections.triage import CollectorSettings
from bot.model.collector import Collector, CollectorError, TriageContext
from bot.model.signal_evidence import MetricsEvidence, ResourceUse, Series
from bot.model.target import Target
from bot.promql.client import PrometheusClient, PrometheusError
from bot.promql.expression import expression_from_generator_url, split_threshold

log = logging.getLogger(__name__)

T = TypeVar("T")

# Points per series in a range query: enough for a chart, small enough to store.
_POINTS = 240
_K8S_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
_SKIP_CONTAINERS = 'container!="", container!="POD"'


def pod_matchers(target: Target) -> str | None:
    """PromQL label matchers for the target's pods, None when the target names none.

    cAdvisor and kube-state-metrics label series by namespace and pod name only, so the
    pods are found by name: KServe names predictor pods `<isvc>-predictor-...`, a
    Deployment names its pods `<deployment>-...`.
    """
    ns = target.namespace
    if not ns or not _K8S_NAME.match(ns):
        return None
    if target.pod and _K8S_NAME.match(target.pod):
        return f'namespace="{ns}", pod="{target.pod}"'
    prefix = None
    if target.inference_service and _K8S_NAME.match(target.inference_service):
        prefix = f"{target.inference_service}-predictor-"
    elif target.deployment and _K8S_NAME.match(target.deployment):
        prefix = f"{target.deployment}-"
    if prefix is None:
        return None
    # A dot is a regex metacharacter; the backslash is doubled for the PromQL string.
    escaped = prefix.replace(".", "\\\\.")
    return f'namespace="{ns}", pod=~"{escaped}.*"'


def _matches(series: Series, labels: Mapping[str, str]) -> bool:
    return all(labels.get(k, v) == v for k, v in series.labels.items() if k != "__name__")


def _finite(series: Series) -> Series:
    # NaN (0/0 of a ratio without traffic) and infinities have no place in stored JSON.
    points = tuple((t, v) for t, v in series.points if math.isfinite(v))
    return Series(labels=series.labels, points=points)


def select_series(
    series: Sequence[Series], alert_labels: Sequence[Mapping[str, str]], limit: int
) -> tuple[Series, ...]:
    """The series that belong to the group's alerts (all, if none do), finite points only."""
    mine = [s for s in series if any(_matches(s, labels) for labels in alert_labels)]
    chosen = (_finite(s) for s in (mine or list(series))[:limit])
    return tuple(s for s in chosen if s.points)


class PrometheusCollector:
    """Queries Prometheus for one alert group; implements `model.collector.Collector`."""

    def __init__(
        self,
        client: PrometheusClient,
        *,
        window_minutes: float,
        timeout: float,
        rate_window: str = "5m",
        max_series: int = 10,
    ) -> None:
        self._client = client
        self._window = timedelta(minutes=window_minutes)
        self._timeout = timeout
        self._rate_window = rate_window
        self._max_series = max_series

    @property
    def name(self) -> str:
        """Shown in notes."""
        return "Prometheus metrics"

    @property
    def timeout(self) -> float:
        """Seconds this collector may take."""
        return self._timeout

    def window(self, context: TriageContext) -> tuple[datetime, datetime]:
        """From one window before the alert start to one after it, or now if sooner."""
        start = context.alert_start - self._window
        end = min(context.now, context.alert_start + self._window)
        if end <= start + timedelta(seconds=1):
            end = start + timedelta(seconds=60)
        return start, end

    async def collect(self, context: TriageContext) -> MetricsEvidence | None:
        """The evidence; `CollectorError` when Prometheus gave nothing at all."""
        alerts = context.notification.firing() or context.notification.alerts
        raw = next(
            (e for a in alerts if (e := expression_from_generator_url(a.generator_url))), None
        )
        matchers = pod_matchers(context.target)
        if raw is None and matchers is None:
            return None
        start, end = self.window(context)
        span = (end - start).total_seconds()
        step = max(1.0, round(span / _POINTS))
        expression = split_threshold(raw) if raw else None

        found, used, traffic = await asyncio.gather(
            self._attempt(self._client.query_range(expression.query, start, end, step))
            if expression is not None
            else _nothing(),
            self._attempt(self._resources(matchers, end, span, step))
            if matchers is not None
            else _nothing(),
            self._attempt(self._traffic(context)),
        )
        asked = [r for r in (found, used) if r is not None]
        failures = [r for r in asked if isinstance(r, PrometheusError)]
        if len(failures) == len(asked):
            raise CollectorError(str(failures[0]))
        notes = [str(f) for f in failures]
        series: tuple[Series, ...] = ()
        if isinstance(found, list):
            series = select_series(found, [a.labels for a in alerts], self._max_series)
            if not series:
                notes.append("the alert's expression returned no data in the window")
        return MetricsEvidence(
            expression=expression.query if expression else "",
            start=start,
            end=end,
            series=series,
            resources=used if isinstance(used, tuple) else (),
            threshold=expression.threshold if expression else None,
            comparison=expression.comparison if expression else "",
            alert_start=context.alert_start,
            notes=tuple(notes),
            traffic=traffic[0] if isinstance(traffic, tuple) else None,
            traffic_day_before=traffic[1] if isinstance(traffic, tuple) else None,
        )

    async def _traffic(self, context: TriageContext) -> tuple[float | None, float | None] | None:
        """The model's request rate at the alert and a day earlier (`request_count`)."""
        target = context.target
        isvc, ns = target.inference_service, target.namespace
        if not (isvc and ns and _K8S_NAME.match(isvc) and _K8S_NAME.match(ns)):
            return None
        selector = f'{{namespace="{ns}", inferenceservice="{isvc}"}}'
        now, before = await asyncio.gather(
            self._client.query(f"sum(rate(request_count{selector}[15m]))", context.alert_start),
            self._client.query(
                f"sum(rate(request_count{selector}[15m] offset 1d))", context.alert_start
            ),
        )
        first, second = _scalar(now), _scalar(before)
        return None if first is None and second is None else (first, second)

    @staticmethod
    async def _attempt(work: Awaitable[T]) -> T | PrometheusError:
        try:
            return await work
        except PrometheusError as exc:
            log.warning("prometheus query failed: %s", exc)
            return exc

    async def _resources(
        self, matchers: str, at: datetime, span: float, step: float
    ) -> tuple[ResourceUse, ...]:
        window = f"{max(int(span), 1)}s"
        memory = (
            "max by (pod, container) (max_over_time(container_memory_working_set_bytes"
            f"{{{matchers}, {_SKIP_CONTAINERS}}}[{window}]))"
        )
        cpu = (
            "max by (pod, container) (max_over_time(rate(container_cpu_usage_seconds_total"
            f"{{{matchers}, {_SKIP_CONTAINERS}}}[{self._rate_window}])[{window}:{step:g}s]))"
        )
        limits = (
            "max by (pod, container, resource) (max_over_time(kube_pod_container_resource_limits"
            f'{{{matchers}, resource=~"cpu|memory"}}[{window}]))'
        )
        # The share of CFS periods throttled: CPU starved at its limit even below 100% use.
        throttled = (
            "max by (pod, container) (max_over_time((rate(container_cpu_cfs_throttled_periods_total"
            f"{{{matchers}, {_SKIP_CONTAINERS}}}[{self._rate_window}]) / "
            "rate(container_cpu_cfs_periods_total"
            f"{{{matchers}, {_SKIP_CONTAINERS}}}[{self._rate_window}]))[{window}:{step:g}s]))"
        )
        mem, cores, limit, throttling = await asyncio.gather(
            self._client.query(memory, at),
            self._client.query(cpu, at),
            self._client.query(limits, at),
            self._client.query(throttled, at),
        )
        return merge_resources(mem, cores, limit, throttling)


def _scalar(series: Sequence[Series]) -> float | None:
    return _last(series[0]) if series else None


async def _nothing() -> None:
    """Stands in for a query not asked, so both answers keep their place."""


def _key(series: Series) -> tuple[str, str]:
    return series.labels.get("pod", ""), series.labels.get("container", "")


def _last(series: Series) -> float | None:
    value = series.points[-1][1] if series.points else None
    return value if value is not None and math.isfinite(value) else None


def merge_resources(
    memory: Sequence[Series],
    cpu: Sequence[Series],
    limits: Sequence[Series],
    throttled: Sequence[Series] = (),
    limit: int = 20,
) -> tuple[ResourceUse, ...]:
    """One `ResourceUse` per (pod, container) from the instant results."""
    rows: dict[tuple[str, str], dict[str, float | None]] = {}
    for s in throttled:
        rows.setdefault(_key(s), {})["cpu_throttled"] = _last(s)
    for s in memory:
        rows.setdefault(_key(s), {})["memory_bytes"] = _last(s)
    for s in cpu:
        rows.setdefault(_key(s), {})["cpu_cores"] = _last(s)
    for s in limits:
        resource = s.labels.get("resource")
        if resource in ("cpu", "memory"):
            field = "memory_limit_bytes" if resource == "memory" else "cpu_limit_cores"
            rows.setdefault(_key(s), {})[field] = _last(s)
    return tuple(
        ResourceUse(pod=pod, container=container, **values)
        for (pod, container), values in sorted(rows.items())[:limit]
    )


def prometheus_collectors(
    url: str | None, limits: CollectorSettings, session: aiohttp.ClientSession
) -> list[Collector]:
    """The Prometheus collectors over `session`; none when no Prometheus URL is set."""
    if not url:
        return []
    client = PrometheusClient(session, url, timeout=limits.prometheus_timeout_seconds)
    return [
        PrometheusCollector(
            client,
            window_minutes=limits.prometheus_window_minutes,
            timeout=limits.prometheus_timeout_seconds,
        )
    ]
