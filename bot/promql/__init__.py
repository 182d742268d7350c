"""Prometheus as a source of evidence: the HTTP API client, the collector, the chart."""

from bot.promql.client import PrometheusClient, PrometheusError
from bot.promql.collector import PrometheusCollector, prometheus_collectors

__all__ = ["PrometheusClient", "PrometheusCollector", "PrometheusError", "prometheus_collectors"]
